"""What the signal-syntax tests share: a spec from typed words, the admin's view of an
error."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import settings

from bot.signals.spec import SignalSpec
from bot.signals.syntax import (
    SignalSyntaxError,
)
from bot.texts import plain

D = Decimal

# No example database: it would leave a .hypothesis/ directory in the working tree.
PROPERTY = settings(deadline=None, database=None)  # examples: the profile's (support/harness.py)


def shown(error: SignalSyntaxError) -> str:
    """What the admin reads for the error (the catalogue's text)."""
    return plain(error.key, **error.params)


def _spec(
    symbol: str,
    side: str,
    entry: str,
    sl: str,
    tps: str,
    *,
    lev: str | None = None,
    tf: str | None = None,
    note: str | None = None,
) -> SignalSpec:
    """A spec from the same words one would type: entry "3400-3450", tps "3300 3200"."""
    low, _, high = entry.partition("-")
    return SignalSpec(
        symbol=symbol,
        side=side,
        entry_low=D(low),
        entry_high=D(high or low),
        stop_loss=D(sl),
        take_profits=tuple(D(tp) for tp in tps.split()),
        leverage=None if lev is None else D(lev),
        timeframe=tf,
        note=note,
    )


BTC = "BTCUSDT long entry 65000 sl 63500 tp 67000"
BTC_SPEC = _spec("BTCUSDT", "long", "65000", "63500", "67000")
ETH = "ETHUSDT short entry 3400 sl 3520 tp 3300"
