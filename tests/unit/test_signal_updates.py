"""What an update makes of a signal, without a database: bot.signals.updates.apply_update."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from bot.signals.syntax import SignalSyntaxError, parse_signal
from bot.signals.updates import (
    SignalState,
    SignalStateError,
    UpdateCommand,
    apply_update,
)

SPEC = parse_signal("BTCUSDT long entry 100 sl 90 tp 110 120")


def _state(status: str = "open", tp_hit: int = 0, closed: bool = False) -> SignalState:
    return SignalState(7, SPEC, status, tp_hit, closed)


def _cmd(kind: str, price: str | None = None) -> UpdateCommand:
    return UpdateCommand(7, kind, D(price) if price else None, None)


def test_a_take_profit_records_its_level_and_result() -> None:
    outcome = apply_update(_state(), _cmd("tp1"))
    assert (outcome.status, outcome.tp_hit, outcome.closed) == ("tp1", 1, False)
    assert (outcome.price, outcome.result_pct, outcome.result_r) == (D(110), D(10), D(1))


def test_the_last_take_profit_closes_the_signal() -> None:
    outcome = apply_update(_state("tp1", 1), _cmd("tp2"))
    assert outcome.closed and outcome.result_r == D(2)


def test_the_stop_defaults_to_its_level_and_a_given_price_wins() -> None:
    assert apply_update(_state(), _cmd("sl")).result_r == D(-1)
    outcome = apply_update(_state(), _cmd("sl", "95"))
    assert (outcome.status, outcome.price, outcome.result_r) == ("stopped", D(95), D("-0.5"))


def test_close_at_a_price_and_cancel_without_one() -> None:
    assert apply_update(_state("tp1", 1), _cmd("close", "115")).result_r == D("1.5")
    cancelled = apply_update(_state(), _cmd("cancel"))
    assert (cancelled.status, cancelled.closed, cancelled.price) == ("cancelled", True, None)


@pytest.mark.parametrize(
    ("state", "command", "error"),
    [
        (_state("stopped", closed=True), _cmd("tp1"), SignalStateError),
        (_state("tp2", 2, closed=True), _cmd("close", "130"), SignalStateError),
        (_state("tp1", 1), _cmd("tp1"), SignalStateError),  # already reported
        (_state("tp1", 1), _cmd("cancel"), SignalStateError),  # entered: close instead
        (_state(), _cmd("tp3"), SignalSyntaxError),  # only two take-profits
        (_state(), _cmd("close", "999999999999"), SignalSyntaxError),  # beyond any record
    ],
)
def test_updates_a_signal_cannot_take(
    state: SignalState, command: UpdateCommand, error: type[Exception]
) -> None:
    with pytest.raises(error):
        apply_update(state, command)
