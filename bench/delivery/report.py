"""What a delivery run gathers (Results) and the summary under it: one line per figure with
DESIGN.md's target and whether it was met; each scenario's module words its own lines."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from bench.delivery.adaptive import RunE, rows_e
from bench.delivery.crash import RunC, rows_c
from bench.delivery.lanes import RunF, rows_f
from bench.delivery.rate_limit import RunB, rows_b
from bench.delivery.throughput import RunA, rows_a, rows_d
from bench.shared.measures import load_average


@dataclass
class Results:
    a: dict[str, list[RunA]] = field(default_factory=dict)
    b: list[RunB] = field(default_factory=list)
    c: list[RunC] = field(default_factory=list)
    e: list[RunE] = field(default_factory=list)
    f: list[RunF] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)


def load() -> str:
    return f"load {load_average()}"


def summary(results: Results, args: argparse.Namespace) -> list[str]:
    """One line per figure: the figure, DESIGN.md's target, and whether it was met."""
    rows = [
        *rows_a(results.a),
        *rows_b(results.b),
        *rows_c(results.c),
        *rows_d(results.a),
        *rows_e(results.e),
        *rows_f(results.f),
    ]
    runs_note = f"medians of {args.runs} run(s) for (a) and (b)"
    if args.quick:
        runs_note = f"QUICK {runs_note}; indicative only, not the real figures"
    lines = [f"summary ({runs_note}; {load()})"]
    if rows:
        width = max(len(figure) for figure, _, _ in rows)
        target_width = max(len(target) for _, target, _ in rows)
        lines += [
            f"  {figure:<{width}}  target {target:<{target_width}}  {verdict}"
            for figure, target, verdict in rows
        ]
    if results.failures:
        lines.append("FAILURES: " + " | ".join(results.failures))
    return lines
