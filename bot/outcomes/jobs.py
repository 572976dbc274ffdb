"""The price watcher as the composition root starts it (`python -m bot`, bot/cli/serve.py):
nothing at all without PRICE_SOURCE, or with OUTCOMES=manual (ccxt is not even imported);
otherwise the watcher on a scheduler of its own, so a slow exchange never holds the
lifecycle's jobs, and one process at a time runs it (the scheduler's lease)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts import roles
from bot.accounts.roles import Permission
from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.lifecycle.scheduler import Job, Scheduler
from bot.outcomes.decisions import channel_rule
from bot.outcomes.exchange import PriceFeed, open_feed
from bot.outcomes.watcher import PriceWatcher
from bot.signals.channel import ChannelRule
from bot.transactions.unit_of_work import UnitOfWork

JOB = "prices"
# Longer than a pass can take (a replay of three days over many symbols, an exchange that
# times out): while it runs, no other process starts one.
LEASE = timedelta(minutes=5)


@dataclass
class PriceWatch:
    """The watcher and the scheduler that runs it; close() lets go of the exchange."""

    watcher: PriceWatcher
    scheduler: Scheduler

    async def close(self) -> None:
        await self.watcher.feed.close()


def price_watch(
    settings: Settings,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    clock: Clock | None = None,
    username: Callable[[], Awaitable[str | None]] | None = None,
    feed: PriceFeed | None = None,
) -> PriceWatch | None:
    """The watcher PRICE_SOURCE and OUTCOMES ask for, or None. `username`: the bot's
    @username (a results-mode channel's Subscribe link); `feed`: another exchange than
    PRICE_SOURCE's (the bench's)."""
    if not settings.watches_prices or settings.price_source is None:
        return None
    feed = feed or open_feed(settings.price_source, settings.price_api_base)

    def rule() -> Awaitable[ChannelRule | None]:
        return channel_rule(settings, username)

    watcher = PriceWatcher(
        feed,
        UnitOfWork(session_factory),
        auto=settings.outcomes == "auto",
        # Who may confirm an outcome (owners and posters) is asked to.
        admin_ids=roles.holders(settings, Permission.POST_SIGNALS),
        author_id=settings.bot_id,
        channel=rule,
    )
    every = timedelta(seconds=settings.price_check_seconds)
    scheduler = Scheduler(
        session_factory, [Job(JOB, every, watcher.run, lease=LEASE)], clock=clock
    )
    return PriceWatch(watcher, scheduler)
