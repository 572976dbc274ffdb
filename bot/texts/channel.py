"""What the signal channel reads of a closed signal (SIGNAL_CHAT_MODE=results), and what the
admins are told when the bot cannot post there (bot/telegram/signal_chat.py)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aiogram.types import InlineKeyboardMarkup

from bot.notices import params as shapes
from bot.signals.channel import DEEP_LINK
from bot.signals.syntax import plain_number
from bot.texts import keyboards, t
from bot.texts import signals as signal_texts

Rendered = tuple[str, InlineKeyboardMarkup | None]


@dataclass(frozen=True, slots=True)
class _Closed:
    """The signal as its last update left it (a SignalLike, for its status in words)."""

    id: int
    symbol: str
    side: str
    status: str
    closed_at: object
    result_pct: Decimal | None
    result_r: Decimal | None


def _decimal(value: object) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None


def _entry(spec: Mapping[str, Any]) -> str:
    low, high = Decimal(spec["entry_low"]), Decimal(spec["entry_high"])
    return plain_number(low) if low == high else f"{plain_number(low)}–{plain_number(high)}"


def result(p: shapes.ChannelResult) -> Rendered:
    """One message for a signal closed with an outcome: what it was, how it ended, and a
    Subscribe link to the bot (left out while Telegram could not say the bot's name)."""
    closed = _Closed(
        p["id"],
        p["symbol"],
        p["side"],
        p["status"],
        True,
        _decimal(p.get("result_pct")),
        _decimal(p.get("result_r")),
    )
    r = closed.result_r or Decimal(0)
    exit_price = _decimal(p.get("price"))
    text = t(
        "channel.result",
        icon="✅" if r > 0 else "❌" if r < 0 else "➖",
        side=t(f"side.{closed.side}"),
        symbol=closed.symbol,
        id=closed.id,
        outcome=signal_texts.status_label(closed),
        entry=_entry(p["spec"]),
        exit=plain_number(exit_price) if exit_price is not None else "",
        result=signal_texts.result(closed.result_pct, closed.result_r),
    )
    username = p.get("bot")
    markup = (
        keyboards.subscribe_link(f"https://t.me/{username}?start={DEEP_LINK}")
        if username
        else None
    )
    return text, markup


def problem(p: shapes.ChannelProblem) -> Rendered:
    """To the admins: the bot cannot post in the signal channel, and why."""
    return t("channel.problem", chat=str(p["chat_id"]), problem=str(p["problem"])), None
