"""The signal channel (SIGNAL_CHAT_ID): what a channel or supergroup gets of the signals,
and when.

`signals` mode: each signal as it is published, or SIGNAL_CHAT_DELAY_MINUTES later (a free
channel trails the paid service), and each of its updates as a reply to that post, held
until the post's own due time so that no update goes out before its signal. `results`
mode: nothing while a signal is open; when it closes with an outcome (a take-profit, the
stop, a close by hand; a cancelled signal is not a result), one message with its summary
and result and a Subscribe link to the bot: the teaser that sells the paid service.

The channel's rows go through the outbox like every other message (the worker's rate
budget, and a group's pace of one message every 3 s: bot/delivery/plan.py). Their kinds
are not premium: the channel's copy is sent whoever has access.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.settings import Settings
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from db.models import Broadcast, OutboxMessage, OutboxStatus, Signal, SignalStatus

DEEP_LINK = "channel"  # /start's payload from a result's Subscribe button


@dataclass(frozen=True, slots=True)
class ChannelRule:
    """Where the signals go besides the subscribers, and how."""

    chat_id: int
    delay: timedelta = timedelta(0)
    mode: str = "signals"  # or "results"
    # The bot's @username for the results' Subscribe link (t.me/<bot>?start=channel); the
    # chat adapter knows it, the domain does not. None: the result goes without the button.
    bot_username: str | None = None

    @property
    def results_only(self) -> bool:
        return self.mode == "results"


def rule_of(settings: Settings) -> ChannelRule | None:
    """The channel as configured; None without SIGNAL_CHAT_ID."""
    if settings.signal_chat_id is None:
        return None
    return ChannelRule(
        settings.signal_chat_id,
        timedelta(minutes=settings.signal_chat_delay_minutes),
        settings.signal_chat_mode,
    )


def is_result(update: dict[str, Any]) -> bool:
    """Whether an update's params close the signal with an outcome (cancelled: no result)."""
    return (
        bool(update.get("closed"))
        and update.get("status") != SignalStatus.CANCELLED
        and update.get("result_r") is not None
    )


async def queue_post(
    session: AsyncSession,
    rule: ChannelRule | None,
    signal: Signal,
    params: dict[str, Any],
    now: datetime,
) -> None:
    """The channel's copy of a signal just published (`signals` mode), due after the delay.

    A broadcast of its own (one row, no admin message) is how its updates find it again,
    as the subscribers' updates find their copies."""
    if rule is None or rule.results_only:
        return
    broadcast = Broadcast(
        kind=NoticeKind.CHANNEL_SIGNAL,
        signal_id=signal.id,
        title=f"#{signal.id} {signal.symbol} {signal.side}",  # data; worded by bot/texts
        total=1,
    )
    session.add(broadcast)
    await session.flush()
    await outbox.enqueue_due(
        session,
        chat_id=rule.chat_id,
        kind=NoticeKind.CHANNEL_SIGNAL,
        params=params,
        due=now + rule.delay,
        broadcast_id=broadcast.id,
    )


async def queue_follow_up(
    session: AsyncSession,
    rule: ChannelRule | None,
    signal_id: int,
    update: dict[str, Any],
    *,
    spec: dict[str, Any],
    now: datetime,
) -> None:
    """What the channel gets of an update: a reply to its post (`signals`), or the result
    of a signal that closed with one (`results`). `update`: the follow-up's params, as the
    subscribers' rows carry them; `spec`: the signal's levels."""
    if rule is None:
        return
    if rule.results_only:
        if is_result(update):
            params = {**update, "spec": spec, "bot": rule.bot_username}
            await outbox.enqueue_due(
                session,
                chat_id=rule.chat_id,
                kind=NoticeKind.CHANNEL_RESULT,
                params=params,
                due=now,
            )
        return
    post = await _post(session, rule.chat_id, signal_id)
    if post is None:  # published before the channel was set, or its post failed
        return
    post_id, status, post_due = post
    # Never before the post: a delayed post's updates wait for its due time; the worker
    # then sends them after it, each as a reply to it.
    due = max(now, post_due) if status == OutboxStatus.PENDING else now
    await outbox.enqueue_due(
        session,
        chat_id=rule.chat_id,
        kind=NoticeKind.CHANNEL_UPDATE,
        params=update,
        due=due,
        reply_to_outbox_id=post_id,
    )


async def _post(
    session: AsyncSession, chat_id: int, signal_id: int
) -> tuple[int, str, datetime] | None:
    """The channel's post of a signal, sent or still to go: (row id, status, due time)."""
    row = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.status, OutboxMessage.next_attempt_at)
            .where(
                OutboxMessage.kind == NoticeKind.CHANNEL_SIGNAL,
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.broadcast_id.in_(
                    select(Broadcast.id).where(Broadcast.signal_id == signal_id)
                ),
                OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.PENDING]),
            )
            .order_by(OutboxMessage.id.desc())
            .limit(1)
        )
    ).first()
    return (row.id, row.status, row.next_attempt_at) if row is not None else None
