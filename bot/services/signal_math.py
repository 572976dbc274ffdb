"""Results of a signal: percent move and R (multiples of the initial risk)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bot.services.signal_syntax import SignalSpec

PLACES = Decimal("0.0001")


def risk(spec: SignalSpec) -> Decimal:
    """Distance from entry (the midpoint of a range) to the stop: 1 R."""
    return abs(spec.entry_mid - spec.stop_loss)


def result_at(spec: SignalSpec, exit_price: Decimal) -> tuple[Decimal, Decimal]:
    """(percent, R) of closing the whole position at `exit_price`, unleveraged.

    Percent is the price move from the entry in the signal's direction; leverage is shown
    beside it, not multiplied in, so results compare across providers' leverage choices.
    """
    entry = spec.entry_mid
    move = exit_price - entry if spec.side == "long" else entry - exit_price
    pct = (move / entry * 100).quantize(PLACES, rounding=ROUND_HALF_UP)
    r = (move / risk(spec)).quantize(PLACES, rounding=ROUND_HALF_UP)
    return pct, r
