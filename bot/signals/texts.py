"""How signals and their updates read in chat (HTML)."""

from __future__ import annotations

import re
from decimal import Decimal
from html import escape, unescape

from bot.signals.syntax import SignalSpec, plain_number
from db.models import Signal, SignalStatus

# Telegram's limit for a message, in characters after the HTML is parsed. Every text we
# build stays under it: a signal with ten take-profits and a 500-character note is about
# 1,100; three of those under a list of ten would not be.
MAX_MESSAGE = 4096


def visible_length(html_text: str) -> int:
    """What Telegram counts: characters (UTF-16 code units) once tags and entities go."""
    plain = unescape(re.sub(r"<[^>]*>", "", html_text))
    return len(plain.encode("utf-16-le")) // 2


def fit_within(head: str, title: str, blocks: list[str], limit: int = MAX_MESSAGE) -> str:
    """`head`, then `title` and as many of `blocks` as fit in one message."""
    shown: list[str] = []
    for block in blocks:
        candidate = head + title + "\n\n" + "\n\n".join([*shown, block])
        if visible_length(candidate) > limit:
            break
        shown.append(block)
    return head + title + "\n\n" + "\n\n".join(shown) if shown else head


def spec_of(signal: Signal) -> SignalSpec:
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


def signed(value: Decimal, suffix: str) -> str:
    sign = "+" if value > 0 else ""
    return f"{sign}{value.normalize():f}{suffix}" if value != 0 else f"0{suffix}"


def _result(pct: Decimal | None, r: Decimal | None) -> str:
    if pct is None or r is None:
        return ""
    cents = Decimal("0.01")
    return f" ({signed(pct.quantize(cents), ' %')}, {signed(r.quantize(cents), ' R')})"


def signal_body(spec: SignalSpec, signal_id: int | None = None) -> str:
    """The signal as subscribers see it."""
    icon = "🟢" if spec.side == "long" else "🔴"
    number = f"  #{signal_id}" if signal_id is not None else ""
    entry = (
        f"{plain_number(spec.entry_low)} – {plain_number(spec.entry_high)}"
        if spec.is_range
        else plain_number(spec.entry_low)
    )
    lines = [
        f"{icon} <b>{spec.side.upper()} {escape(spec.symbol)}</b>{number}",
        f"Entry: <b>{entry}</b>",
        f"Stop loss: <b>{plain_number(spec.stop_loss)}</b>",
    ]
    lines += [f"TP{i}: <b>{plain_number(tp)}</b>" for i, tp in enumerate(spec.take_profits, 1)]
    extras = []
    if spec.leverage is not None:
        extras.append(f"Leverage: {plain_number(spec.leverage)}x")
    if spec.timeframe:
        extras.append(f"Timeframe: {escape(spec.timeframe)}")
    if extras:
        lines.append(" · ".join(extras))
    if spec.note:
        lines.append(f"📝 {escape(spec.note)}")
    return "\n".join(lines)


def preview(spec: SignalSpec, recipients: int) -> str:
    return (
        f"<b>Preview</b> — this goes to {recipients} subscriber"
        f"{'' if recipients == 1 else 's'} with access:\n\n{signal_body(spec)}"
    )


def update_body(signal: Signal, kind: str, price: Decimal | None, note: str | None) -> str:
    """A follow-up, sent as a reply to each subscriber's own copy of the signal."""
    head = f"{escape(signal.symbol)} #{signal.id}"
    at = f" at <b>{plain_number(price)}</b>" if price is not None else ""
    result = _result(signal.result_pct, signal.result_r)
    if kind.startswith("tp"):
        final = " — all targets hit, trade closed" if signal.closed_at else ""
        text = f"🎯 {head}: <b>{kind.upper()} hit</b>{at}{result}{final}"
    elif kind == "sl":
        text = f"🛑 {head}: <b>stopped out</b>{at}{result}"
    elif kind == "close":
        text = f"✅ {head}: <b>closed</b>{at}{result}"
    else:
        text = f"❌ {head}: <b>cancelled</b> — do not enter this trade"
    if note:
        text += f"\n📝 {escape(note)}"
    return text


STATUS_LABELS = {
    SignalStatus.OPEN: "open",
    SignalStatus.STOPPED: "stopped",
    SignalStatus.CLOSED: "closed",
    SignalStatus.CANCELLED: "cancelled",
}


def status_label(signal: Signal) -> str:
    if signal.status.startswith("tp"):
        label = f"{signal.status.upper()} hit"
        return f"{label}, closed" if signal.closed_at else label
    return STATUS_LABELS.get(SignalStatus(signal.status), signal.status)


def list_line(signal: Signal) -> str:
    result = _result(signal.result_pct, signal.result_r)
    side = "🟢" if signal.side == "long" else "🔴"
    name = f"<b>{escape(signal.symbol)}</b> {signal.side}"
    return f"{side} #{signal.id} {name} — {status_label(signal)}{result}"
