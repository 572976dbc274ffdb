"""The price watcher: a scheduler job that reads the exchange's one-minute candles for every
symbol with open signals and acts on what they show (bot/outcomes/rules.py), as OUTCOMES
says: `auto` records each take-profit and stop through bot/signals/service.post_update,
the path /update takes (subscribers get the threaded update), marked as from prices;
`confirm` tells the admins, with a Confirm button (bot/outcomes/decisions.py records it).
An entry fill is recorded in price_events either way: it changes nothing subscribers see.

One pass: the open signals by symbol (one read), the exchange's markets (loaded once per
process), then for each listed symbol the closed candles since its checkpoint (a few
requests at a time; ccxt's rate limiter spaces them), and per symbol one unit of work:
its events, and the checkpoint moved to the first candle not read. A symbol is read at
most once a minute however often the job runs (no candle closes in between). The
exchange away (FeedDownError): the checkpoints stay, and the next pass that reaches it
replays the candles since (at most REPLAY back). A symbol the exchange does not list:
the admins are told once (price_symbols.unlisted_at), and it is left alone.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.audit.log import Actor
from bot.core.errors import DomainError
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.outcomes import store
from bot.outcomes.exchange import FeedDownError, PriceFeed, UnlistedError
from bot.outcomes.markets import market_for
from bot.outcomes.rules import ENTRY, Candle, Event, events
from bot.outcomes.store import SymbolWatch, Watched
from bot.signals import service as signals
from bot.signals.channel import ChannelRule
from bot.signals.spec import decimal_text
from bot.signals.updates import UpdateCommand
from bot.transactions.unit_of_work import UnitOfWork
from db.models import UpdateSource

log = logging.getLogger(__name__)
PRICES_ACTOR = Actor.tool("prices")  # the audit log's name for the watcher's doings

# How far back a pass reads at most: an outage (or the bot away) longer than this is read
# from its last three days only (the log says so); 4,320 candles, five requests a symbol.
REPLAY = timedelta(days=3)
FETCHES_AT_ONCE = 8  # requests in flight; ccxt's rate limiter spaces them further
ChannelSource = Callable[[], Awaitable[ChannelRule | None]]
Fetched = list[Candle] | FeedDownError | UnlistedError


@dataclass
class PassReport:
    """What one pass did: the scheduler's line for it."""

    symbols: int = 0
    read: int = 0
    recorded: int = 0
    proposed: int = 0
    fills: int = 0
    unlisted: list[str] = field(default_factory=list)
    down: str | None = None

    def line(self) -> str:
        parts = [f"{self.read} of {self.symbols} symbols read"]
        parts.append(f"{self.recorded} recorded, {self.proposed} proposed, {self.fills} fills")
        if self.unlisted:
            parts.append(f"not listed: {', '.join(sorted(self.unlisted))}")
        if self.down:
            parts.append(f"exchange away: {self.down}")
        return "; ".join(parts)


def minute_of(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


@dataclass(frozen=True, slots=True)
class _Pass:
    """What every symbol of one pass shares: its time, the signal channel's rule, and
    its report."""

    now: datetime
    rule: ChannelRule | None
    report: PassReport


class PriceWatcher:
    def __init__(
        self,
        feed: PriceFeed,
        uow: UnitOfWork,
        *,
        auto: bool,
        admin_ids: Sequence[int],
        author_id: int,
        channel: ChannelSource | None = None,
    ) -> None:
        self.feed = feed
        self._uow = uow
        self._auto = auto
        self._admin_ids = list(admin_ids)
        self._author_id = author_id  # the updates' author in auto mode: the bot itself
        self._channel = channel
        self._gone: set[str] = set()  # delisted since the markets were loaded
        self._cut: set[str] = set()  # symbols whose replay was cut to REPLAY (said once)
        self._away_since: datetime | None = None

    async def run(self, now: datetime) -> str:
        """One pass (the scheduler's job); one line about it."""
        async with self._uow.reading() as session:
            watches = await store.watched(session)
        report = PassReport(symbols=len(watches))
        if not watches:
            return report.line()
        try:
            markets = await self.feed.markets()
        except FeedDownError as error:
            self._away(now, error, report)
            return report.line()
        listed = await self._listed(watches, markets, now, report)
        fetched = await self._fetch(listed, minute_of(now))
        rule = await self._channel() if self._channel is not None else None
        this = _Pass(now, rule, report)
        for watch, _market in listed:
            await self._read(watch, fetched.get(watch.symbol), this)
        if report.down is None and report.read and self._away_since is not None:
            log.info("prices: %s answers again; the candles missed were read", self.feed.name)
            self._away_since = None
        return report.line()

    async def _listed(
        self,
        watches: list[SymbolWatch],
        markets: Mapping[str, Mapping[str, Any]],
        now: datetime,
        report: PassReport,
    ) -> list[tuple[SymbolWatch, str]]:
        """The symbols the exchange lists, with their markets; the others reported."""
        listed = []
        for watch in watches:
            market = market_for(watch.symbol, markets)
            if market is None or watch.symbol in self._gone:
                await self._unlisted(watch, now, report)
            else:
                listed.append((watch, market))
        return listed

    async def _unlisted(self, watch: SymbolWatch, now: datetime, report: PassReport) -> None:
        """Tell the admins, once: the symbol's signals are not followed from prices."""
        report.unlisted.append(watch.symbol)
        if watch.unlisted:
            return
        params = {
            "symbol": watch.symbol,
            "source": self.feed.name,
            "signals": [signal.signal_id for signal in watch.signals],
        }
        async with self._uow() as session:
            if await store.unlisted(session, watch.symbol, now):
                log.warning("prices: %s does not list %s", self.feed.name, watch.symbol)
                for admin in self._admin_ids:
                    await outbox.enqueue(
                        session, chat_id=admin, kind=NoticeKind.SYMBOL_UNLISTED, params=params
                    )
        watch.unlisted = True

    def _since(self, watch: SymbolWatch, until: datetime) -> datetime:
        """The first candle to read: after the checkpoint, from the earliest publication,
        at most REPLAY back."""
        earliest = min(signal.since for signal in watch.signals)
        since = max(earliest, watch.checked_until or earliest)
        if since < until - REPLAY:
            if watch.symbol not in self._cut:
                self._cut.add(watch.symbol)
                log.warning(
                    "prices: %s unread since %s; reading its last %s only",
                    watch.symbol,
                    since.isoformat(),
                    REPLAY,
                )
            since = until - REPLAY
        return since

    async def _fetch(
        self, listed: list[tuple[SymbolWatch, str]], until: datetime
    ) -> dict[str, Fetched]:
        """Each symbol's closed candles since its checkpoint, FETCHES_AT_ONCE at a time;
        once the exchange fails one, the rest are not asked (it is away). A symbol with
        no candle closed since its checkpoint is not asked either."""
        gate = asyncio.Semaphore(FETCHES_AT_ONCE)
        away: list[FeedDownError] = []

        async def one(symbol: str, market: str, since: datetime) -> tuple[str, Fetched]:
            async with gate:
                if away:
                    return symbol, away[0]
                try:
                    return symbol, await self.feed.candles(market, since, until)
                except FeedDownError as error:
                    away.append(error)
                    return symbol, error
                except UnlistedError as error:
                    return symbol, error

        due = [(w.symbol, market, self._since(w, until)) for w, market in listed]
        asked = [one(*each) for each in due if each[2] < until]
        return dict(await asyncio.gather(*asked))

    async def _read(self, watch: SymbolWatch, fetched: Fetched | None, this: _Pass) -> None:
        """One symbol's candles acted on, and its checkpoint moved, in one unit of work."""
        if fetched is None:  # nothing closed since its last read
            return
        now, report = this.now, this.report
        if isinstance(fetched, FeedDownError):
            self._away(now, fetched, report)
            return
        if isinstance(fetched, UnlistedError):
            self._gone.add(watch.symbol)
            await self._unlisted(watch, now, report)
            return
        report.read += 1
        if not fetched:
            return
        async with self._uow() as session:
            for signal in watch.signals:
                mine = [candle for candle in fetched if candle.start >= signal.since]
                for event in events(signal.spec, signal.progress, mine):
                    await self._act(session, signal, event, this)
            await store.checked(session, watch.symbol, fetched[-1].start + store.MINUTE)

    async def _act(
        self, session: AsyncSession, signal: Watched, event: Event, this: _Pass
    ) -> None:
        decided = self._auto or event.kind == ENTRY
        event_id = await store.record(session, signal.signal_id, event, this.now, decided=decided)
        if event_id is None:  # recorded by an earlier pass already
            return
        if event.kind == ENTRY:
            this.report.fills += 1
        elif self._auto:
            await self._record(session, signal, event, this)
        else:
            await self._propose(session, signal, event, event_id)
            this.report.proposed += 1

    async def _record(
        self, session: AsyncSession, signal: Watched, event: Event, this: _Pass
    ) -> None:
        """As /update records it. post_update refuses before it writes anything (the
        signal closed, or that target declared by hand meanwhile): then the event stays
        decided, set aside, and the rest of the pass goes on."""
        command = UpdateCommand(signal.signal_id, event.kind, event.price, None)
        try:
            await signals.post_update(
                session,
                command,
                self._author_id,
                this.now,
                channel=this.rule,
                source=UpdateSource.PRICES,
                actor=PRICES_ACTOR,
            )
        except DomainError as error:
            log.info("prices: #%s %s not recorded: %s", signal.signal_id, event.kind, error.key)
            return
        this.report.recorded += 1

    async def _propose(
        self, session: AsyncSession, signal: Watched, event: Event, event_id: int
    ) -> None:
        """Each admin is asked to confirm, with one tap."""
        params = {
            "event": event_id,
            "id": signal.signal_id,
            "symbol": signal.spec.symbol,
            "side": signal.spec.side,
            "kind": event.kind,
            "price": decimal_text(event.price),
            "at": event.candle.isoformat(),
            "source": self.feed.name,
        }
        for admin in self._admin_ids:
            await outbox.enqueue(
                session, chat_id=admin, kind=NoticeKind.OUTCOME_PROPOSED, params=params
            )

    def _away(self, now: datetime, error: FeedDownError, report: PassReport) -> None:
        """The exchange is away: said once in the log until it answers again."""
        report.down = str(error)[:120]
        if self._away_since is None:
            self._away_since = now
            log.warning(
                "prices: %s unreachable (%s); its candles are read when it answers",
                self.feed.name,
                report.down,
            )
