"""The signal's spec: one module encodes and decodes it (bot/signals/spec.py), and the
signals package's modules import each other without a circle (issue 26, item 3: syntax
imported results for result_at, and results imported syntax for SignalSpec)."""

from __future__ import annotations

import ast
from decimal import Decimal
from pathlib import Path

from bot.signals.spec import SignalSpec, spec_from_params, spec_params

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "bot" / "signals"


def _graph() -> dict[str, set[str]]:
    """Each module of bot.signals and the modules of bot.signals it imports, counting
    imports made only for type checking (a circle there is a circle all the same)."""
    modules = {f"bot.signals.{path.stem}": path for path in PACKAGE.glob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module in modules:
                found.add(node.module)
            elif isinstance(node, ast.ImportFrom) and node.module == "bot.signals":
                found.update(f"bot.signals.{alias.name}" for alias in node.names)
        graph[name] = found - {name}
    return graph


def _circle(graph: dict[str, set[str]]) -> list[str]:
    """One circle in the graph, as the modules along it; [] when there is none."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str]:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return []
        for child in sorted(graph.get(node, ())):
            found = visit(child, [*path, node])
            if found:
                return found
        done.add(node)
        return []

    for start in sorted(graph):
        found = visit(start, [])
        if found:
            return found
    return []


def test_the_signals_package_has_no_import_circle() -> None:
    assert _circle(_graph()) == []


def test_the_circle_finder_finds_one() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert _circle(graph) == ["a", "b", "c", "a"]
    assert _circle({"a": {"b"}, "b": set()}) == []


def test_results_and_syntax_take_the_spec_from_its_module() -> None:
    graph = _graph()
    assert "bot.signals.syntax" not in graph["bot.signals.results"]
    assert graph["bot.signals.spec"] == set()  # the ground of the package


def test_the_outbox_encoding_reads_back_the_same_spec() -> None:
    spec = SignalSpec(
        symbol="BTCUSDT",
        side="long",
        entry_low=Decimal("65000"),
        entry_high=Decimal("65500.5"),
        stop_loss=Decimal("0.00000001"),
        take_profits=(Decimal("67000"), Decimal("69000")),
        leverage=Decimal("5"),
        timeframe="4h",
        note="breakout <retest>",
    )
    assert spec_from_params(spec_params(spec)) == spec
    bare = SignalSpec("ETHUSDT", "short", Decimal(3), Decimal(3), Decimal(4), (Decimal(2),))
    assert spec_from_params(spec_params(bare)) == bare
