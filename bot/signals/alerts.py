"""TradingView alerts taken in (webapp/tradingview.py reads them, bot/signals/alert_text.py
says what they are): each once within ALERT_WINDOW, across every instance; a signal made a
draft previewed to the admins with Send, or published at once (ALERTS_AUTOPUBLISH) under
the posting limit; an update applied to the newest open signal of its pair. A problem is
told to the admins once per PROBLEM_WINDOW for each kind of problem, so a broken alert
firing every minute does not flood them. All in the caller's one transaction.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import access
from bot.audit.log import Actor
from bot.core.errors import DomainError
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.signals import service
from bot.signals.alert_text import SignalAlert, UpdateAlert, digest, symbol_key
from bot.signals.channel import ChannelRule
from bot.signals.posting_limit import PostingLimitError
from bot.signals.spec import SignalSpec, spec_params
from bot.signals.updates import FINAL
from db.models import AlertReceipt, Signal, SignalStatus

# The same alert again within this long makes nothing new (TradingView may send one
# twice; two alerts on one chart may fire on one bar).
ALERT_WINDOW = timedelta(minutes=5)
# One notice to the admins per kind of problem within this long.
PROBLEM_WINDOW = timedelta(hours=1)


class NoOpenSignalError(DomainError):
    """An update alert for a pair with no open signal (`alert.no_open_signal`)."""


ALERT_ACTOR = Actor.tool("tradingview")  # the audit log's name for an alert's doings


@dataclass(frozen=True, slots=True)
class AlertOptions:
    """What the settings decide about alerts."""

    admin_ids: tuple[int, ...]
    author_id: int  # whom drafts and updates are recorded as written by: the bot itself
    autopublish: bool = False
    per_minute: int | None = None  # the posting limit (SIGNAL_STYLE=cornix), or none
    channel: ChannelRule | None = None  # the signal channel (SIGNAL_CHAT_ID) gets them too

    @property
    def progress_chat(self) -> int | None:
        """The admin chat shown a published alert's delivery progress."""
        return self.admin_ids[0] if self.admin_ids else None


@dataclass(frozen=True, slots=True)
class AlertOutcome:
    """What came of an alert: `preview` (a draft the admins were sent), `published`,
    `held` (published at once would break the posting limit: a preview instead),
    `updated` or `duplicate`."""

    status: str
    signal_id: int | None = None
    broadcast_id: int | None = None
    total: int | None = None
    retry_after: int | None = None


@dataclass(frozen=True, slots=True)
class AlertProblem:
    """Why an alert was refused, as data: the catalogue's key and params, the word at
    fault, whether it was the signal's state (a DomainError) rather than the alert's
    words, and the start of what the alert said."""

    key: str
    params: dict[str, Any]
    token: str
    state: bool
    excerpt: str


async def receive(
    session: AsyncSession, alert: SignalAlert | UpdateAlert, now: datetime, options: AlertOptions
) -> AlertOutcome:
    """Take one alert; DomainError (or SignalSyntaxError from the update) says why not,
    and the caller's transaction then rolls back, receipt and all."""
    if not await first_in_window(session, alert.digest, now, ALERT_WINDOW):
        return AlertOutcome("duplicate")
    if isinstance(alert, UpdateAlert):
        return await _update(session, alert, now, options)
    return await _signal(session, alert.spec, now, options)


async def _signal(
    session: AsyncSession, spec: SignalSpec, now: datetime, options: AlertOptions
) -> AlertOutcome:
    draft_id = (await service.create_draft(session, spec, options.author_id)).id
    if not options.autopublish:
        await _preview(session, draft_id, spec, now, options.admin_ids)
        return AlertOutcome("preview", draft_id, total=len(options.admin_ids))
    try:
        async with session.begin_nested():  # a refusal undoes the publish, not the draft
            broadcast = await service.publish(
                session,
                draft_id,
                now,
                admin_chat_id=options.progress_chat,
                per_minute=options.per_minute,
                channel=options.channel,
                actor=ALERT_ACTOR,
            )
    except PostingLimitError as error:
        seconds = int(str(error.params["seconds"]))
        held = {"limit": error.params["limit"], "seconds": seconds}
        await _preview(session, draft_id, spec, now, options.admin_ids, held=held)
        return AlertOutcome("held", draft_id, retry_after=seconds)
    return AlertOutcome("published", draft_id, broadcast.id, broadcast.total)


async def _preview(
    session: AsyncSession,
    draft_id: int,
    spec: SignalSpec,
    now: datetime,
    admin_ids: tuple[int, ...],
    *,
    held: dict[str, Any] | None = None,
) -> None:
    """The preview /signal shows, with Send, to every admin (the draft is sent once,
    whoever presses it first)."""
    recipients = len(await access.recipients(session, now))
    params = {"id": draft_id, "spec": spec_params(spec), "recipients": recipients, "held": held}
    await outbox.enqueue_many(
        session, [(admin, NoticeKind.ALERT_PREVIEW, params) for admin in admin_ids]
    )


async def _update(
    session: AsyncSession, alert: UpdateAlert, now: datetime, options: AlertOptions
) -> AlertOutcome:
    signal_id = await newest_open(session, alert.symbol)
    if signal_id is None:
        raise NoOpenSignalError("alert.no_open_signal", symbol=alert.symbol)
    command = replace(alert.command, signal_id=signal_id)
    _, broadcast = await service.post_update(
        session,
        command,
        options.author_id,
        now,
        admin_chat_id=options.progress_chat,
        channel=options.channel,
        actor=ALERT_ACTOR,
    )
    return AlertOutcome("updated", signal_id, broadcast.id, broadcast.total)


async def newest_open(session: AsyncSession, symbol: str) -> int | None:
    """The newest published, still open signal of the pair `symbol` however written."""
    wanted = symbol_key(symbol)
    rows = await session.execute(
        select(Signal.id, Signal.symbol)
        .where(
            Signal.published_at.is_not(None),
            Signal.closed_at.is_(None),
            Signal.status.not_in([*FINAL, SignalStatus.DRAFT]),
        )
        .order_by(Signal.published_at.desc(), Signal.id.desc())
    )
    return next((row.id for row in rows if symbol_key(row.symbol) == wanted), None)


async def report_problem(
    session: AsyncSession, problem: AlertProblem, now: datetime, admin_ids: tuple[int, ...]
) -> bool:
    """Tell the admins why an alert was refused, unless this kind of problem was told
    within PROBLEM_WINDOW; whether they were told."""
    if not admin_ids:
        return False
    if not await first_in_window(session, digest("problem", problem.key), now, PROBLEM_WINDOW):
        return False
    params = {
        "key": problem.key,
        "params": {name: json_param(value) for name, value in problem.params.items()},
        "token": problem.token,
        "state": problem.state,
        "excerpt": problem.excerpt,
    }
    await outbox.enqueue_many(
        session, [(admin, NoticeKind.ALERT_PROBLEM, params) for admin in admin_ids]
    )
    return True


def json_param(value: object) -> object:
    """A problem's param as JSON holds it, still formatting as it did (`{max}`, `{r:,.0f}`)."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


async def first_in_window(
    session: AsyncSession, key: str, now: datetime, window: timedelta
) -> bool:
    """Record `key` as seen now, unless it was within `window`; whether it was not. One
    statement, so two instances taking the same alert at once make one of it."""
    await session.execute(
        delete(AlertReceipt).where(AlertReceipt.received_at < now - PROBLEM_WINDOW)
    )
    dialect = importlib.import_module(f"sqlalchemy.dialects.{session.get_bind().dialect.name}")
    insert = dialect.insert(AlertReceipt).values(digest=key, received_at=now)
    claim = insert.on_conflict_do_update(
        index_elements=[AlertReceipt.digest],
        set_={"received_at": now},
        where=AlertReceipt.received_at <= now - window,
    ).returning(AlertReceipt.digest)
    return (await session.execute(claim)).first() is not None
