"""What an admin's Confirm under a proposed outcome records (OUTCOMES=confirm), once: the
same post_update the watcher's auto mode and /update call, marked as from prices; and the
signal channel's rule both use."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.core.errors import DomainError
from bot.core.settings import Settings
from bot.outcomes import store
from bot.signals import channel
from bot.signals import service as signals
from bot.signals.channel import ChannelRule
from bot.signals.updates import UpdateCommand
from db.models import Signal, UpdateSource

log = logging.getLogger(__name__)
BOT_NAME_WAIT = 5.0  # seconds to learn the bot's @username for a result's Subscribe link
RECORDED, ALREADY, REFUSED = "recorded", "already", "refused"


@dataclass(frozen=True, slots=True)
class Confirmed:
    """What a tap did: `recorded` (with the signal as it is now), `already` (decided
    before: a second tap, another admin's), or `refused` with the signal's reason (closed
    meanwhile, that target declared by hand); the last two record nothing."""

    outcome: str
    signal: Signal | None = None
    error: DomainError | None = None


async def confirm(
    session: AsyncSession,
    event_id: int,
    author_id: int,
    now: datetime,
    *,
    channel: ChannelRule | None = None,
) -> Confirmed:
    """Record a proposed outcome. The event is taken first (one tap wins); post_update
    refuses before it writes anything, so a refusal leaves the event decided and the
    signal as it was."""
    event = await store.decide(session, event_id, now)
    if event is None:
        return Confirmed(ALREADY)
    command = UpdateCommand(event.signal_id, event.kind, event.price, None)
    try:
        signal, _ = await signals.post_update(
            session, command, author_id, now, channel=channel, source=UpdateSource.PRICES
        )
    except DomainError as error:
        return Confirmed(REFUSED, error=error)
    return Confirmed(RECORDED, signal)


async def channel_rule(
    settings: Settings, username: Callable[[], Awaitable[str | None]] | None = None
) -> ChannelRule | None:
    """The signal channel's rule for an update; in results mode with the bot's @username
    for the Subscribe link (asked before any unit of work opens; none while Telegram
    cannot say it)."""
    rule = channel.rule_of(settings)
    if rule is None or not rule.results_only or username is None:
        return rule
    try:
        name = await asyncio.wait_for(username(), BOT_NAME_WAIT)
    except Exception as error:  # noqa: BLE001 - any failure: the post without the link
        log.info("signal channel result without its Subscribe link: %s", type(error).__name__)
        return rule
    return replace(rule, bot_username=name or None)
