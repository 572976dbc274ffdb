"""Signals: drafts, publishing to every subscriber with access, follow-ups, the track record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import access
from bot.audit import log as audit
from bot.audit.log import Actor
from bot.core.errors import DomainError
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.signals import channel as signal_channel
from bot.signals import posting_limit, record_store, statistics
from bot.signals.channel import ChannelRule
from bot.signals.spec import SignalSpec, decimal_text, spec_of, spec_params
from bot.signals.updates import (
    Outcome,
    SignalNotFoundError,
    SignalState,
    SignalStateError,
    UpdateCommand,
    apply_update,
)
from bot.transactions import commit_events
from db.models import (
    Broadcast,
    OutboxMessage,
    OutboxStatus,
    Signal,
    SignalStatus,
    SignalUpdate,
    UpdateSource,
)


async def create_draft(session: AsyncSession, spec: SignalSpec, author_id: int) -> Signal:
    signal = Signal(
        symbol=spec.symbol,
        side=spec.side,
        entry_low=spec.entry_low,
        entry_high=spec.entry_high,
        stop_loss=spec.stop_loss,
        take_profits=[format(tp, "f") for tp in spec.take_profits],
        leverage=spec.leverage,
        timeframe=spec.timeframe,
        note=spec.note,
        status=SignalStatus.DRAFT,
        author_id=author_id,
    )
    session.add(signal)
    await session.flush()
    return signal


async def discard_draft(
    session: AsyncSession, signal_id: int, actor: Actor, now: datetime
) -> None:
    result = await session.execute(
        update(Signal)
        .where(Signal.id == signal_id, Signal.status == SignalStatus.DRAFT)
        .values(status=SignalStatus.CANCELLED)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise await _state_error(session, signal_id)
    target = f"signal:{signal_id}"
    await audit.record(session, actor, audit.Action.SIGNAL_DISCARD, now, target=target)


async def _state_error(session: AsyncSession, signal_id: int) -> DomainError:
    signal = await session.get(Signal, signal_id)
    if signal is None:
        return SignalNotFoundError("signal.not_found", id=signal_id)
    return SignalStateError("signal.is", id=signal_id, status=signal.status)


async def publish(
    session: AsyncSession,
    signal_id: int,
    now: datetime,
    *,
    admin_chat_id: int | None = None,
    progress_message_id: int | None = None,
    per_minute: int | None = None,
    channel: ChannelRule | None = None,
    actor: Actor | None = None,
    paid: bool = False,
) -> Broadcast:
    """Open the signal and write one outbox row per subscriber with access, atomically
    (and the signal channel's post, when there is one: bot/signals/channel.py). With
    `paid` its rows, and later its updates', may take the paid lane (PAID_BROADCAST).

    The conditional UPDATE is the guard against a double-pressed Send: only the first
    transaction finds the draft; the second finds it open and raises SignalStateError.
    With `per_minute` (SIGNAL_STYLE=cornix: cornix.POSTS_PER_MINUTE, what the bots take),
    one more within a minute raises PostingLimitError; the unit of work rolls back, and it
    stays a draft that Send publishes later.
    """
    signal = await _open(session, signal_id, now, per_minute)
    chats = await access.recipients(session, now)
    broadcast = Broadcast(
        kind=NoticeKind.SIGNAL,
        signal_id=signal.id,
        title=f"#{signal.id} {signal.symbol} {signal.side}",  # data; worded by bot/texts
        admin_chat_id=admin_chat_id,
        progress_message_id=progress_message_id,
        total=len(chats),
        paid=paid,
    )
    session.add(broadcast)
    await session.flush()
    params = {"id": signal.id, "spec": spec_params(spec_of(signal))}
    await outbox.enqueue_bulk(
        session,
        chats,
        kind=NoticeKind.SIGNAL,
        params=params,
        broadcast_id=broadcast.id,
        now=now,
        paid=paid,
    )
    await signal_channel.queue_post(session, channel, signal, params, now)
    await record_store.signal_published(session, signal, now)  # the verifiable record
    who = actor or (Actor.admin(admin_chat_id) if admin_chat_id else Actor(signal.author_id))
    await _audit_publish(session, signal, who, len(chats), now)
    return broadcast


async def _open(
    session: AsyncSession, signal_id: int, now: datetime, per_minute: int | None
) -> Signal:
    """The draft opened (once: a second Send finds it open), within the posting limit."""
    if per_minute is not None:
        await posting_limit.one_at_a_time(session)
    claimed = await session.execute(
        update(Signal)
        .where(Signal.id == signal_id, Signal.status == SignalStatus.DRAFT)
        .values(status=SignalStatus.OPEN, published_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        raise await _state_error(session, signal_id)
    if per_minute is not None:
        await posting_limit.check(session, signal_id, now, per_minute)
    commit_events.mark(session, commit_events.FEED)
    signal = await session.get(Signal, signal_id)
    assert signal is not None
    await session.refresh(signal)
    return signal


async def _audit_publish(
    session: AsyncSession, signal: Signal, actor: Actor, recipients: int, now: datetime
) -> None:
    after = {"symbol": signal.symbol, "side": signal.side, "recipients": recipients}
    target = f"signal:{signal.id}"
    await audit.record(
        session, actor, audit.Action.SIGNAL_PUBLISH, now, target=target, after=after
    )


async def post_update(
    session: AsyncSession,
    command: UpdateCommand,
    author_id: int,
    now: datetime,
    *,
    admin_chat_id: int | None = None,
    channel: ChannelRule | None = None,
    actor: Actor | None = None,
    source: UpdateSource = UpdateSource.ADMIN,
) -> tuple[Signal, Broadcast]:
    """Record the update, set status and result, and queue a threaded follow-up for everyone
    who received (or is about to receive) the signal, the signal channel included.
    `source`: the exchange's prices (bot/outcomes) or an admin, as the track record says."""
    signal = await session.scalar(
        select(Signal).where(Signal.id == command.signal_id).with_for_update()
    )
    if signal is None or signal.status == SignalStatus.DRAFT:
        raise SignalNotFoundError("signal.not_found", id=command.signal_id)
    state = SignalState(
        signal.id, spec_of(signal), signal.status, signal.tp_hit, signal.closed_at is not None
    )
    outcome = apply_update(state, command)
    signal.status, signal.tp_hit = outcome.status, outcome.tp_hit
    if outcome.closed:
        signal.closed_at = now
    if outcome.price is not None:
        signal.exit_price = outcome.price
        signal.result_pct, signal.result_r = outcome.result_pct, outcome.result_r
    commit_events.mark(session, commit_events.FEED)
    session.add(
        SignalUpdate(
            signal_id=signal.id,
            kind=command.kind,
            price=outcome.price,
            note=command.note,
            author_id=author_id,
            created_at=now,
            source=source,
        )
    )
    params = _update_params(signal, command, outcome)
    broadcast = await _follow_up(session, signal, command, params, now=now, admin=admin_chat_id)
    spec = spec_params(spec_of(signal))
    await signal_channel.queue_follow_up(session, channel, signal.id, params, spec=spec, now=now)
    await record_store.update_posted(session, command, outcome, now)  # the verifiable record
    after = {"kind": command.kind, "price": outcome.price, "status": outcome.status}
    await audit.record(
        session,
        actor or Actor(author_id),
        audit.Action.SIGNAL_UPDATE,
        now,
        target=f"signal:{signal.id}",
        after=after,
    )
    return signal, broadcast


def _update_params(signal: Signal, command: UpdateCommand, outcome: Outcome) -> dict[str, object]:
    """What a follow-up's rows carry to be rendered."""
    return {
        "id": signal.id,
        "symbol": signal.symbol,
        "side": signal.side,
        "kind": command.kind,
        "price": decimal_text(outcome.price),
        "note": command.note,
        "status": outcome.status,
        "closed": outcome.closed,
        "result_pct": decimal_text(outcome.result_pct),
        "result_r": decimal_text(outcome.result_r),
    }


async def _follow_up(
    session: AsyncSession,
    signal: Signal,
    command: UpdateCommand,
    params: dict[str, object],
    *,
    now: datetime,
    admin: int | None,
) -> Broadcast:
    """A reply to every subscriber's own copy of the signal, sent or still queued; on the
    paid lane when the signal went on it."""
    paid = bool(
        await session.scalar(
            select(Broadcast.paid).where(
                Broadcast.signal_id == signal.id, Broadcast.kind == NoticeKind.SIGNAL
            )
        )
    )
    originals = (
        await session.execute(
            select(OutboxMessage.id, OutboxMessage.chat_id).where(
                OutboxMessage.kind == NoticeKind.SIGNAL,
                OutboxMessage.broadcast_id.in_(
                    select(Broadcast.id).where(Broadcast.signal_id == signal.id)
                ),
                OutboxMessage.status.in_([OutboxStatus.SENT, OutboxStatus.PENDING]),
            )
        )
    ).all()
    broadcast = Broadcast(
        kind=NoticeKind.SIGNAL_UPDATE,
        signal_id=signal.id,
        title=f"#{signal.id} {signal.symbol}: {command.kind}",
        admin_chat_id=admin,
        total=len(originals),
        paid=paid,
    )
    session.add(broadcast)
    await session.flush()
    await outbox.enqueue_bulk(
        session,
        [row.chat_id for row in originals],
        kind=NoticeKind.SIGNAL_UPDATE,
        params=params,
        broadcast_id=broadcast.id,
        now=now,
        reply_to={row.chat_id: row.id for row in originals},
        paid=paid,
    )
    return broadcast


async def latest(session: AsyncSession, limit: int = 10) -> list[Signal]:
    """The newest published signals."""
    rows = await session.scalars(
        select(Signal)
        .where(Signal.published_at.is_not(None))
        .order_by(Signal.published_at.desc(), Signal.id.desc())
        .limit(limit)
    )
    return list(rows)


@dataclass(frozen=True, slots=True)
class Performance:
    """One window of the track record (bot/signals/statistics.py computes it)."""

    label: str
    count: int
    wins: int
    total_r: Decimal
    avg_r: Decimal | None

    @property
    def win_rate(self) -> Decimal | None:
        return statistics.win_rate(self.wins, self.count)


WINDOWS = statistics.WINDOWS  # an id (the catalogue's window.<id>) and its days


async def closed_signals(session: AsyncSession) -> list[Signal]:
    """Signals with a final result (cancelled ones never count), oldest first."""
    rows = await session.scalars(
        select(Signal)
        .where(
            Signal.closed_at.is_not(None),
            Signal.status != SignalStatus.CANCELLED,
            Signal.result_r.is_not(None),
        )
        .order_by(Signal.closed_at, Signal.id)
    )
    return list(rows)


def summarise(signals: list[Signal], now: datetime) -> list[Performance]:
    """Win rate, average and total R over each window, by closing time: the statistics'
    figures (bot/signals/statistics.py) over the signals closed in it."""
    trades = statistics.trades_of(signals)
    result = []
    for label, days in WINDOWS:
        found = statistics.figures(statistics.within(trades, days, now))
        result.append(Performance(label, found.trades, found.wins, found.total_r, found.average_r))
    return result
