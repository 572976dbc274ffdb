"""A signal's levels (SignalSpec) and their two encodings: the stored row and the outbox JSON.

Everything that turns a signal into something else, or back, meets here: the parser makes
a SignalSpec, the service stores it (`spec_of` reads it back), the outbox carries it as
JSON (`spec_params`, decoded by `spec_from_params` when the row is rendered). The results
module and the syntax both stand on this one, so neither imports the other's types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from db.models import Signal


@dataclass(frozen=True)
class SignalSpec:
    """A parsed, validated signal, before it is stored."""

    symbol: str
    side: str  # "long" or "short"
    entry_low: Decimal
    entry_high: Decimal
    stop_loss: Decimal
    take_profits: tuple[Decimal, ...]
    leverage: Decimal | None = None
    timeframe: str | None = None
    note: str | None = field(default=None)

    @property
    def entry_mid(self) -> Decimal:
        return (self.entry_low + self.entry_high) / 2

    @property
    def is_range(self) -> bool:
        return self.entry_low != self.entry_high


def decimal_text(value: Decimal | None) -> str | None:
    """A price as JSON carries it: exact decimal text, never a float."""
    return format(value, "f") if value is not None else None


def spec_of(signal: Signal) -> SignalSpec:
    """A stored signal's levels, as parsed."""
    return SignalSpec(
        symbol=signal.symbol,
        side=signal.side,
        entry_low=signal.entry_low,
        entry_high=signal.entry_high,
        stop_loss=signal.stop_loss,
        take_profits=tuple(Decimal(tp) for tp in signal.take_profits),
        leverage=signal.leverage,
        timeframe=signal.timeframe,
        note=signal.note,
    )


def spec_params(spec: SignalSpec) -> dict[str, object]:
    """A signal's levels as JSON: what its outbox rows carry to be rendered."""
    return {
        "symbol": spec.symbol,
        "side": spec.side,
        "entry_low": decimal_text(spec.entry_low),
        "entry_high": decimal_text(spec.entry_high),
        "stop_loss": decimal_text(spec.stop_loss),
        "take_profits": [format(tp, "f") for tp in spec.take_profits],
        "leverage": decimal_text(spec.leverage),
        "timeframe": spec.timeframe,
        "note": spec.note,
    }


def spec_from_params(p: Mapping[str, Any]) -> SignalSpec:
    """The levels an outbox row carries (spec_params), as parsed."""
    return SignalSpec(
        symbol=p["symbol"],
        side=p["side"],
        entry_low=Decimal(p["entry_low"]),
        entry_high=Decimal(p["entry_high"]),
        stop_loss=Decimal(p["stop_loss"]),
        take_profits=tuple(Decimal(tp) for tp in p["take_profits"]),
        leverage=Decimal(p["leverage"]) if p.get("leverage") else None,
        timeframe=p.get("timeframe"),
        note=p.get("note"),
    )
