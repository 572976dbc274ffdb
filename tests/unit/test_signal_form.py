"""The composer's signal, field by field: the same spec as the line, the same rules, and
each mistake placed at the field (and row) it came from; the updates its buttons send and
which of them a signal can still take."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.signals.form import FormError, SignalForm, read_form
from bot.signals.syntax import SignalSyntaxError, parse_signal
from bot.signals.updates import (
    SignalState,
    SignalStateError,
    apply_update,
    build_update,
    parse_update,
    possible_updates,
)
from db.models import SignalStatus

PROPERTY = settings(deadline=None, database=None)

BTC = SignalForm(
    symbol="BTCUSDT",
    side="long",
    entry=("65000",),
    stop_loss="63500",
    take_profits=("67000", "69000"),
    leverage="5",
    timeframe="4h",
    note="breakout retest",
)
LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note breakout retest"


def placed(form: SignalForm, *, for_bots: bool = False) -> tuple[str | None, int | None, str]:
    with pytest.raises(FormError) as caught:
        read_form(form, for_bots=for_bots)
    return caught.value.field, caught.value.index, caught.value.error.key


def test_the_form_makes_the_lines_spec() -> None:
    assert read_form(BTC) == parse_signal(LINE)
    zone = replace(
        BTC,
        side="short",
        entry=("3400", "3450"),
        stop_loss="3520",
        take_profits=("3300", "3200"),
        leverage=None,
        timeframe=None,
        note=None,
    )
    zone = replace(zone, symbol="ethusdt")
    assert read_form(zone) == parse_signal("ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200")
    # Spaces around a value, blank optional fields, a note over lines: as the line reads it.
    loose = replace(
        BTC,
        symbol=" BTCUSDT ",
        side="LONG",
        stop_loss=" 63500",
        leverage=" 5 ",
        note="  breakout\n  retest ",
    )
    assert read_form(loose) == parse_signal(LINE)
    assert read_form(replace(BTC, leverage="", timeframe=" ", note="")).note is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"symbol": "BTC USDT"}, ("symbol", None, "syntax.symbol")),
        ({"symbol": ""}, ("symbol", None, "syntax.symbol")),
        ({"side": "sideways"}, ("side", None, "syntax.side")),
        ({"entry": ()}, ("entry", None, "syntax.missing")),
        ({"entry": ("65000", "abc")}, ("entry", 1, "syntax.price_shape")),
        ({"entry": ("65-000",)}, ("entry", 0, "syntax.price_shape")),
        ({"entry": ("66000", "65000")}, ("entry", None, "syntax.entry_order")),
        ({"entry": ("1", "2", "3")}, ("entry", 2, "syntax.entries_two")),
        ({"stop_loss": ""}, ("stop_loss", None, "syntax.missing")),
        ({"stop_loss": "66000"}, ("stop_loss", None, "syntax.long_sl")),
        ({"stop_loss": "0"}, ("stop_loss", None, "syntax.price_positive")),
        ({"take_profits": ()}, ("take_profits", None, "syntax.missing")),
        ({"take_profits": ("67000", "x")}, ("take_profits", 1, "syntax.price_shape")),
        ({"take_profits": ("67000", "65000")}, ("take_profits", 1, "syntax.long_tp")),
        ({"take_profits": ("69000", "67000")}, ("take_profits", None, "syntax.tp_order")),
        (
            {"take_profits": tuple(str(70000 + n) for n in range(11))},
            ("take_profits", 10, "syntax.too_many_tps"),
        ),
        ({"take_profits": ("67000", "9" * 12)}, ("take_profits", 1, "syntax.result_range")),
        ({"stop_loss": "64999.9999999999"}, ("take_profits", 0, "syntax.result_range")),
        ({"leverage": "500"}, ("leverage", None, "syntax.leverage")),
        ({"leverage": "five"}, ("leverage", None, "syntax.price_shape")),
        ({"timeframe": "4 hours"}, ("timeframe", None, "syntax.timeframe")),
        ({"note": "x" * 501}, ("note", None, "syntax.note_long")),
        ({"note": "bell \x07"}, ("note", None, "syntax.note_char")),
    ],
    ids=str,
)
def test_each_mistake_is_placed_at_its_field(
    change: dict[str, object], expected: tuple[str, int | None, str]
) -> None:
    assert placed(replace(BTC, **change)) == expected  # type: ignore[arg-type]


def test_a_target_equal_to_the_entry_is_the_targets_mistake() -> None:
    """The word is the same in two fields; the rule says which one is wrong."""
    assert placed(replace(BTC, take_profits=("65000",))) == ("take_profits", 0, "syntax.long_tp")


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"symbol": "BTCXYZ"}, ("symbol", None, "syntax.pair")),
        ({"take_profits": ("67000", "700000")}, ("take_profits", 1, "syntax.price_spread")),
        ({"stop_loss": "6000"}, ("stop_loss", None, "syntax.price_spread")),
        ({"note": "take profit early"}, ("note", None, "syntax.note_bot_word")),
    ],
    ids=str,
)
def test_the_bots_rules_are_placed_too(
    change: dict[str, object], expected: tuple[str, int | None, str]
) -> None:
    form = replace(BTC, **change)  # type: ignore[arg-type]
    assert placed(form, for_bots=True) == expected
    if expected[2] != "syntax.pair":
        assert read_form(replace(BTC, symbol="BTCUSDT", **change))  # type: ignore[arg-type]


prices = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**6), places=2)


@PROPERTY
@given(entry=prices, risk=prices, reward=prices, side=st.sampled_from(["long", "short"]))
def test_form_and_line_agree_on_any_signal(
    entry: Decimal, risk: Decimal, reward: Decimal, side: str
) -> None:
    """Whatever the levels, the form and the line take the same signal or refuse the
    same word."""
    sign = 1 if side == "long" else -1
    stop, target = entry - sign * risk, entry + sign * reward
    form = SignalForm("BTCUSDT", side, (f"{entry}",), f"{stop}", (f"{target}",))
    line = f"BTCUSDT {side} entry {entry} sl {stop} tp {target}"
    try:
        expected = parse_signal(line)
    except SignalSyntaxError as refused:
        with pytest.raises(FormError) as caught:
            read_form(form)
        assert (caught.value.error.key, caught.value.error.token) == (refused.key, refused.token)
        assert caught.value.field is not None
    else:
        assert read_form(form) == expected


# --- the cards' update buttons ---------------------------------------------------------------


def test_an_update_by_its_parts_is_the_line_update() -> None:
    assert build_update(17, "TP1", None, None) == parse_update("17 tp1")
    assert build_update(17, "tp2", "69000", "second target") == parse_update(
        "17 tp2 69000 second target"
    )
    assert build_update(17, "close", "66000", " ") == parse_update("17 close 66000")
    assert build_update(17, "cancel", None, "no fill") == parse_update("17 cancel no fill")
    assert build_update(17, "sl", "", None) == parse_update("17 sl")


@pytest.mark.parametrize(
    ("kind", "price", "note", "key"),
    [
        ("tp0", None, None, "syntax.update_kind"),
        ("hold", None, None, "syntax.update_kind"),
        ("close", None, None, "syntax.update_close"),
        ("close", "66,000", None, "syntax.price_shape"),
        ("tp1", "-1", None, "syntax.price_shape"),
        ("sl", None, "x" * 501, "syntax.note_long"),
    ],
)
def test_an_update_by_its_parts_keeps_the_rules(
    kind: str, price: str | None, note: str | None, key: str
) -> None:
    with pytest.raises(SignalSyntaxError) as caught:
        build_update(17, kind, price, note)
    assert caught.value.key == key


def test_a_take_profits_note_holds_no_word_that_closes_a_followed_trade() -> None:
    with pytest.raises(SignalSyntaxError) as caught:
        build_update(17, "tp1", None, "closing half", for_bots=True)
    assert caught.value.key == "syntax.update_exit_word"
    assert build_update(17, "tp1", None, "closing half").note == "closing half"


def _state(status: str = SignalStatus.OPEN, tp_hit: int = 0, closed: bool = False) -> SignalState:
    return SignalState(
        17,
        read_form(replace(BTC, take_profits=("67000", "69000", "71000"))),
        status,
        tp_hit,
        closed,
    )


@pytest.mark.parametrize(
    ("state", "offered"),
    [
        (_state(), ["tp1", "tp2", "tp3", "sl", "close", "cancel"]),
        (_state("tp1", 1), ["tp2", "tp3", "sl", "close"]),
        (_state("tp2", 2), ["tp3", "sl", "close"]),
        (_state("tp3", 3, closed=True), []),
        (_state(SignalStatus.STOPPED, closed=True), []),
        (_state(SignalStatus.CANCELLED, closed=True), []),
    ],
)
def test_the_buttons_offered_are_the_updates_the_signal_takes(
    state: SignalState, offered: list[str]
) -> None:
    assert possible_updates(state) == offered
    for kind in ("tp1", "tp2", "tp3", "sl", "close", "cancel"):
        command = build_update(17, kind, "66000" if kind == "close" else None, None)
        if kind in offered:
            apply_update(state, command)
        else:
            with pytest.raises((SignalStateError, SignalSyntaxError)):
                apply_update(state, command)
