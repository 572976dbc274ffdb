"""Results of a signal: percent move and R (multiples of the initial risk)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from bot.signals.spec import SignalSpec

PLACES = Decimal("0.0001")
# What a result may be. Prices are at most 12 integer digits (signal_syntax), so a move
# divided by a tiny risk or a tiny entry could reach 10**24: beyond the result columns
# (NUMERIC(28, 10) holds under 10**18) on PostgreSQL, and nonsense in any track record.
MAX_ABS_R = Decimal(10**9)
MAX_ABS_PCT = Decimal(10**9)


class ResultOutOfRangeError(ValueError):
    """A result beyond MAX_ABS_R or MAX_ABS_PCT: the levels or the price are mistyped."""

    def __init__(self, pct: Decimal, r: Decimal) -> None:
        super().__init__(f"{pct} %, {r} R")
        self.pct = pct
        self.r = r

    def describe(self) -> dict[str, object]:
        """The catalogue's parameters for `syntax.result_range`."""
        return {"r": self.r, "pct": self.pct, "max_r": MAX_ABS_R, "max_pct": MAX_ABS_PCT}


def risk(spec: SignalSpec) -> Decimal:
    """Distance from entry (the midpoint of a range) to the stop: 1 R."""
    return abs(spec.entry_mid - spec.stop_loss)


def result_at(spec: SignalSpec, exit_price: Decimal) -> tuple[Decimal, Decimal]:
    """(percent, R) of closing the whole position at `exit_price`, unleveraged.

    Percent is the price move from the entry in the signal's direction; leverage is shown
    beside it, not multiplied in, so results compare across providers' leverage choices.
    Raises ResultOutOfRangeError for a result no track record can hold.
    """
    entry = spec.entry_mid
    move = exit_price - entry if spec.side == "long" else entry - exit_price
    pct = move / entry * 100
    r = move / risk(spec)
    if abs(r) > MAX_ABS_R or abs(pct) > MAX_ABS_PCT:
        raise ResultOutOfRangeError(pct, r)
    return pct.quantize(PLACES, rounding=ROUND_HALF_UP), r.quantize(PLACES, rounding=ROUND_HALF_UP)
