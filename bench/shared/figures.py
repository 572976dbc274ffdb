"""Repeated runs and the figures they print: rate and latency percentiles in one format,
medians over runs, and the line that compares them with a DESIGN.md target."""

from __future__ import annotations

import math
import statistics
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

R = TypeVar("R")


async def repeat_runs(
    runs: int,
    one_run: Callable[[], Awaitable[R]],
    line: Callable[[R, str], str],
    *,
    stop: Callable[[R], bool] | None = None,
) -> list[R]:
    """`runs` runs, each printed as "run i/N" when it ends; one for which `stop` is true
    ends the series (a crash or timeout will not improve by repeating it)."""
    results: list[R] = []
    for run in range(1, runs + 1):
        result = await one_run()
        results.append(result)
        print(line(result, f"run {run}/{runs}"), flush=True)
        if stop is not None and stop(result):
            break
    return results


@dataclass(frozen=True, slots=True)
class Figures:
    """The headline numbers of a load phase, in the one format every line uses."""

    rate: float
    p50: float
    p90: float
    p99: float
    max: float
    errors: int
    unit: str  # of the rate: "ev/s", "req/s"
    errors_name: str  # what counts as an error: "errors", "non200"

    @classmethod
    def of(
        cls, rate: float, latencies_ms: Sequence[float], errors: int, *, unit: str, name: str
    ) -> Figures:
        """From the rate and the already sorted latencies in ms."""
        return cls(
            rate=rate,
            p50=percentile(latencies_ms, 0.50),
            p90=percentile(latencies_ms, 0.90),
            p99=percentile(latencies_ms, 0.99),
            max=latencies_ms[-1] if latencies_ms else math.nan,
            errors=errors,
            unit=unit,
            errors_name=name,
        )

    def __str__(self) -> str:
        return (
            f"rate={self.rate:.0f} {self.unit}  p50={self.p50:.1f} ms  p90={self.p90:.1f} ms  "
            f"p99={self.p99:.1f} ms  max={self.max:.1f} ms  {self.errors_name}={self.errors}"
        )


def median_figures(runs: Sequence[Figures]) -> Figures:
    """Medians of every figure, except errors: a sum, since any error is a failure."""

    def med(pick: Callable[[Figures], float]) -> float:
        return statistics.median(pick(f) for f in runs)

    return Figures(
        rate=med(lambda f: f.rate),
        p50=med(lambda f: f.p50),
        p90=med(lambda f: f.p90),
        p99=med(lambda f: f.p99),
        max=med(lambda f: f.max),
        errors=sum(f.errors for f in runs),
        unit=runs[0].unit,
        errors_name=runs[0].errors_name,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """A DESIGN.md performance target: a rate and a p99, stated for SQLite."""

    design: str  # the row's name in DESIGN.md
    rate: float
    p99_ms: float


def median_lines(
    name: str,
    backend: str,
    runs: Sequence[Figures],
    params: str,
    target: Target,
    *,
    quick: bool,
) -> list[str]:
    """The median line and the target line under a bench's runs."""
    figures = median_figures(runs)
    label = f"QUICK median of {len(runs)}" if quick else f"median of {len(runs)}"
    line = f"{name}  {backend}  {label}  {params}  {figures}"
    met_rate = "met" if figures.rate >= target.rate else "MISSED"
    met_p99 = "met" if figures.p99 <= target.p99_ms else "MISSED"
    scope = "" if backend == "sqlite" else " (the target is stated for SQLite)"
    if quick:
        scope += " (QUICK figures: indicative only)"
    return [
        line,
        f"target    DESIGN.md '{target.design}': rate >= {target.rate:.0f} {figures.unit} "
        f"({met_rate}), p99 <= {target.p99_ms:.0f} ms ({met_p99}){scope}",
    ]


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def median(values: Sequence[float]) -> float:
    """The median, NaN for none."""
    return statistics.median(values) if values else math.nan


def met(ok: bool) -> str:
    """A target's verdict as every summary prints it."""
    return "met" if ok else "MISSED"
