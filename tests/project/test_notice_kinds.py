"""The outbox's contract: one NoticeKind per thing a row can say, each with its words and its
label in the chat's one registry, and no producer queueing a kind spelled by hand."""

from __future__ import annotations

import ast
from pathlib import Path

from bot.delivery.plan import PREMIUM_KINDS
from bot.notices.kinds import NoticeKind
from bot.texts import CATALOGUE, plain
from bot.texts.labels import kind_label
from bot.texts.notices import KINDS

ROOT = Path(__file__).resolve().parents[2]
# Where a kind is named when a row (or a broadcast, or a lifecycle message) is made.
PRODUCERS = {"enqueue", "enqueue_many", "enqueue_bulk", "Message", "Broadcast"}


def test_every_kind_has_its_words_and_its_label() -> None:
    assert set(KINDS) == set(NoticeKind)
    with CATALOGUE.use_locale("en"):
        for kind, entry in KINDS.items():
            assert callable(entry.render), kind
            assert entry.label == f"kind.{kind.value}"
            assert plain(entry.label) != entry.label, f"{entry.label} is not in the catalogue"
            assert kind_label(kind.value) == plain(entry.label)
    assert kind_label("from_an_older_version") == "from_an_older_version"


def test_stored_kinds_are_the_strings_rows_always_held() -> None:
    """A StrEnum: rows keep the same strings, so no migration and old rows still render."""
    for kind in NoticeKind:
        assert kind == kind.value == kind.name.lower()
    assert {NoticeKind.SIGNAL, NoticeKind.SIGNAL_UPDATE} == PREMIUM_KINDS
    assert "signal" in PREMIUM_KINDS  # a row read back holds a plain str


def _kind_arguments(call: ast.Call) -> list[ast.expr]:
    named = [k.value for k in call.keywords if k.arg == "kind"]
    name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", "")
    if name == "Message" and len(call.args) >= 3:  # noqa: PLR2004 - (event, user, kind, ...)
        named.append(call.args[2])
    return named


def test_no_producer_names_a_kind_by_a_string() -> None:
    """mypy holds outbox.enqueue* to NoticeKind; this catches a literal where it does not
    look (a Broadcast's kind, a lifecycle Message built positionally)."""
    found = []
    for path in sorted([*(ROOT / "bot").rglob("*.py"), *(ROOT / "webapp").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call):
                continue
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name not in PRODUCERS:
                continue
            found += [
                f"{path.relative_to(ROOT)}:{node.lineno}"
                for arg in _kind_arguments(node)
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str)
            ]
    assert found == []


def test_every_kind_has_one_params_shape_and_its_renderer_takes_it() -> None:
    """The contract between producer and renderer is typed: one TypedDict per kind
    (bot/notices/params.py), the renderer annotated with that same shape."""
    import typing

    from bot.notices.params import SHAPES

    assert set(SHAPES) == set(NoticeKind)
    for kind, entry in KINDS.items():
        hints = typing.get_type_hints(entry.render)
        [taken] = [value for name, value in hints.items() if name != "return"]
        assert taken is SHAPES[kind], f"{kind}: the renderer takes {taken}, not {SHAPES[kind]}"


def test_a_producer_that_drifts_from_its_kinds_shape_fails_when_it_queues() -> None:
    import pytest

    from bot.notices.params import ParamsShapeError, check

    check(NoticeKind.GRANT, {"until": None})
    check(NoticeKind.STARS_REFUNDED, {"amount": 5, "reason": ""})  # `ended` may be missing
    with pytest.raises(ParamsShapeError, match="unknown keys \\['days'\\]"):
        check(NoticeKind.GRANT, {"until": None, "days": 3})
    with pytest.raises(ParamsShapeError, match="missing keys \\['amount'\\]"):
        check(NoticeKind.STARS_DUPLICATE_REFUNDED, {})
