"""Which rows of a claimed batch go out now, which wait, and which are skipped: a pure
decision over the rows and what was read for them (access, the originals of follow-ups,
when each chat was last sent to)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.notices.kinds import NoticeKind
from db.models import OutboxMessage, OutboxStatus

PER_CHAT_INTERVAL = 1.0  # Telegram: about one message per second to the same chat
# ... and at most 20 a minute to a group, supergroup or channel (the signal channel): one
# every 3 s, and 0.1 s to spare, as Telegram counts arrivals and a sender departures.
GROUP_INTERVAL = 3.1
ORIGINAL_WAIT = timedelta(seconds=2)
# Kinds only subscribers with access may receive; checked again at send time.
PREMIUM_KINDS = frozenset(kind for kind in NoticeKind if kind.premium)


def chat_interval(chat_id: int) -> float:
    """Seconds between two messages to one chat: a group's or a channel's id is negative,
    a person's positive."""
    return GROUP_INTERVAL if chat_id < 0 else PER_CHAT_INTERVAL


@dataclass(frozen=True, slots=True)
class Send:
    row: OutboxMessage
    reply_to: int | None  # Telegram message id of the recipient's copy being followed up
    text: str = ""  # the row rendered, just before it is sent
    markup: Any = None  # aiogram's InlineKeyboardMarkup, or None
    silent: bool = False  # the recipient wants it without sound (disable_notification)


@dataclass(slots=True)
class Plan:
    sends: list[Send] = field(default_factory=list)
    later: dict[int, tuple[datetime, str]] = field(default_factory=dict)  # row id -> when, why
    skipped: dict[int, str] = field(default_factory=dict)  # row id -> why


def plan_batch(
    rows: list[OutboxMessage],
    *,
    allowed: set[int],
    originals: Mapping[int, tuple[str, int | None]],
    last_sent: Mapping[int, float],
    clock: float,
    now: datetime,
    prefs: Mapping[int, tuple[str, str]] | None = None,
) -> Plan:
    """`allowed`: chats with access now; `originals`: outbox row id -> (status, message id)
    of the rows follow-ups reply to; `last_sent`: chat -> monotonic time of its last send;
    `prefs`: chat -> (new signals, updates) of those not on the defaults
    (bot/accounts/preferences)."""
    plan = Plan()
    batch_chats: set[int] = set()
    for row in rows:
        if row.kind in PREMIUM_KINDS and row.chat_id not in allowed:
            plan.skipped[row.id] = "no access at send time"
            continue
        signals, updates = (prefs or {}).get(row.chat_id, ("on", "on"))
        if row.kind == NoticeKind.SIGNAL_UPDATE and updates == "off":
            plan.skipped[row.id] = "updates turned off (/settings)"
            continue
        silent = (row.kind == NoticeKind.SIGNAL and signals == "silent") or (
            row.kind == NoticeKind.SIGNAL_UPDATE and updates == "silent"
        )
        reply_to = None
        if row.reply_to_outbox_id is not None:
            status, message_id = originals.get(row.reply_to_outbox_id, (None, None))
            if status == OutboxStatus.PENDING:
                plan.later[row.id] = (now + ORIGINAL_WAIT, "waiting for the original")
                continue
            if status != OutboxStatus.SENT or message_id is None:
                plan.skipped[row.id] = "the original message was not delivered"
                continue
            reply_to = message_id
        last, interval = last_sent.get(row.chat_id), chat_interval(row.chat_id)
        if row.chat_id in batch_chats or (last is not None and clock - last < interval):
            # One message per second per chat (3 s to a group); the next one waits its turn.
            plan.later[row.id] = (now + timedelta(seconds=interval), "per-chat limit")
            continue
        batch_chats.add(row.chat_id)
        plan.sends.append(Send(row, reply_to, silent=silent))
    return plan
