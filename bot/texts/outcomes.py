"""What the admins read of outcomes from market prices (bot/outcomes): one the exchange's
candles showed, with a Confirm button (OUTCOMES=confirm), and a symbol the exchange does
not list; and the public track record's mark of who declared an outcome."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from aiogram.types import InlineKeyboardMarkup

from bot.notices import params as shapes
from bot.signals.syntax import plain_number
from bot.texts import format_moment, keyboards, plain, t
from db.models import SignalUpdate, UpdateSource

Rendered = tuple[str, InlineKeyboardMarkup | None]


def proposed(p: shapes.OutcomeProposed) -> Rendered:
    """A take-profit or the stop the exchange's candles showed, for an admin to confirm."""
    kind = str(p["kind"])
    params = {
        "id": p["id"],
        "symbol": p["symbol"],
        "side": t(f"side.{p['side']}"),
        "price": plain_number(Decimal(p["price"])),
        "source": p["source"],
        "at": format_moment(datetime.fromisoformat(p["at"])),
    }
    if kind.startswith("tp"):
        text = t("outcome.proposed.tp", n=int(kind[2:]), **params)
    else:
        text = t("outcome.proposed.sl", **params)
    return text, keyboards.confirm_outcome(int(p["event"]))


def unlisted(p: shapes.SymbolUnlisted) -> Rendered:
    """The exchange does not list a signal's symbol: its outcomes are the admins' to say."""
    ids = ", ".join(f"#{signal_id}" for signal_id in p["signals"])
    return t("outcome.unlisted", symbol=p["symbol"], source=p["source"], signals=ids), None


def declared_by(updates: list[SignalUpdate]) -> str:
    """Who said how a closed signal ended (its last update): the exchange's prices, or
    the provider (by hand). Plain text."""
    last = updates[-1] if updates else None
    if last is not None and last.source == UpdateSource.PRICES:
        return plain("track.source.prices")
    return plain("track.source.admin")
