"""What the watcher reads and writes: the open signals by symbol with how far each has come,
the events the candles showed (price_events), and each symbol's checkpoint and unlisted
mark (price_symbols). Query helpers: they flush, the caller's unit of work commits."""

from __future__ import annotations

import importlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert

from bot.outcomes.rules import ENTRY, STOP, Event, Progress
from bot.signals.spec import SignalSpec, spec_of
from db.engine import insert_ignoring_conflicts, upsert
from db.models import PriceEvent, PriceSymbol, Signal

_SYMBOLS = cast(Table, PriceSymbol.__table__)
_EVENTS = cast(Table, PriceEvent.__table__)
_CHECKED = upsert(_SYMBOLS, _SYMBOLS.c.symbol, update=["checked_until", "unlisted_at"])
_KNOWN = insert_ignoring_conflicts(_SYMBOLS, _SYMBOLS.c.symbol)
MINUTE = timedelta(minutes=1)


def first_minute(published_at: datetime) -> datetime:
    """The first candle that counts for a signal: the first to start at or after its
    publication (one that began before may hold a price from before the signal)."""
    start = published_at.replace(second=0, microsecond=0)
    return start if start == published_at else start + MINUTE


@dataclass(frozen=True, slots=True)
class Watched:
    """An open signal the candles may still move: its levels and how far it has come."""

    signal_id: int
    spec: SignalSpec
    since: datetime  # first_minute of its publication
    progress: Progress


@dataclass
class SymbolWatch:
    """A symbol with open signals, and where its candles were last read up to."""

    symbol: str
    signals: list[Watched] = field(default_factory=list)
    checked_until: datetime | None = None
    unlisted: bool = False


def progress_of(signal: Signal, kinds: set[str]) -> Progress:
    """From prices (the events recorded, confirmed or not) and /update alike: a target
    declared by hand means the entry filled."""
    found = [int(kind[2:]) for kind in kinds if kind.startswith("tp")]
    targets = max([signal.tp_hit, *found])
    filled = ENTRY in kinds or targets > 0
    over = STOP in kinds or targets >= len(signal.take_profits)
    return Progress(filled=filled, targets_hit=targets, over=over)


async def watched(session: AsyncSession) -> list[SymbolWatch]:
    """Every published, open signal whose candles may still say something, by symbol."""
    signals = list(
        await session.scalars(
            select(Signal)
            .where(Signal.published_at.is_not(None), Signal.closed_at.is_(None))
            .order_by(Signal.id)
        )
    )
    if not signals:
        return []
    ids = [signal.id for signal in signals]
    kinds: defaultdict[int, set[str]] = defaultdict(set)
    for signal_id, kind in await session.execute(
        select(PriceEvent.signal_id, PriceEvent.kind).where(PriceEvent.signal_id.in_(ids))
    ):
        kinds[signal_id].add(kind)
    by_symbol: dict[str, SymbolWatch] = {}
    for signal in signals:
        progress = progress_of(signal, kinds[signal.id])
        if progress.over or signal.published_at is None:
            continue
        watch = by_symbol.setdefault(signal.symbol, SymbolWatch(signal.symbol))
        since = first_minute(signal.published_at)
        watch.signals.append(Watched(signal.id, spec_of(signal), since, progress))
    for row in await session.scalars(
        select(PriceSymbol).where(PriceSymbol.symbol.in_(list(by_symbol)))
    ):
        by_symbol[row.symbol].checked_until = row.checked_until
        by_symbol[row.symbol].unlisted = row.unlisted_at is not None
    return list(by_symbol.values())


def _insert_event(dialect: str) -> Insert:
    """INSERT .. ON CONFLICT (signal_id, kind) DO NOTHING, for `dialect`."""
    module = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    statement = module.insert(_EVENTS).on_conflict_do_nothing(index_elements=["signal_id", "kind"])
    return cast(Insert, statement)


async def record(
    session: AsyncSession, signal_id: int, event: Event, now: datetime, *, decided: bool
) -> int | None:
    """The event's row, once per signal and kind: its id, or None when it was there
    already (a check run again after a crash, or by another process)."""
    connection = await session.connection()
    row = {
        "signal_id": signal_id,
        "kind": event.kind,
        "price": event.price,
        "candle_at": event.candle,
        "found_at": now,
        "decided_at": now if decided else None,
    }
    inserted = await connection.execute(
        _insert_event(connection.dialect.name).returning(_EVENTS.c.id), row
    )
    found = inserted.first()
    return int(found[0]) if found is not None else None


async def decide(session: AsyncSession, event_id: int, now: datetime) -> PriceEvent | None:
    """Take an undecided event for recording (an admin's Confirm): the event, or None when
    it was decided already (a second tap, another admin's) or is not there."""
    claimed = await session.execute(
        update(PriceEvent)
        .where(PriceEvent.id == event_id, PriceEvent.decided_at.is_(None))
        .values(decided_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return await session.get(PriceEvent, event_id)


async def checked(session: AsyncSession, symbol: str, until: datetime) -> None:
    """The symbol's candles are read up to `until` (the start of the first unread one);
    a symbol read is listed, whatever it was before."""
    connection = await session.connection()
    row = {"symbol": symbol, "checked_until": until, "unlisted_at": None}
    await connection.execute(_CHECKED[connection.dialect.name], row)


async def unlisted(session: AsyncSession, symbol: str, now: datetime) -> bool:
    """Mark the symbol unlisted; True the first time (the admins are told then, once)."""
    connection = await session.connection()
    await connection.execute(_KNOWN[connection.dialect.name], {"symbol": symbol})
    marked = await session.execute(
        update(PriceSymbol)
        .where(PriceSymbol.symbol == symbol, PriceSymbol.unlisted_at.is_(None))
        .values(unlisted_at=now)
    )
    return bool(marked.rowcount == 1)  # type: ignore[attr-defined]
