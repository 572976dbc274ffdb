"""The verifiable record in the database: entries appended in the publishing transaction,
revealed when their signal closes, and read back as the public document
(GET /track-record.json) and the page's list.

The algorithm is bot/signals/record_chain.py's; this is the shell around it. The service
calls `signal_published` and `update_posted` inside the transaction that publishes the
signal or records the update, so an entry commits with what it records, or neither does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.signals.record_chain import (
    FORMAT,
    GENESIS,
    SIGNAL,
    UPDATE,
    Json,
    new_salt,
    plain_decimal,
    seal,
    signal_fields,
    time_text,
    update_fields,
)
from bot.signals.spec import spec_of
from bot.signals.updates import Outcome, UpdateCommand
from db.models import RecordEntry, Signal

# PostgreSQL: the transaction-scoped advisory lock that takes appends one at a time, so two
# instances publishing at once cannot both append after the same entry (a fork). Held to
# the commit; taken last in its transaction (the service's hooks run at the end), so it
# waits on nothing else. (Any fixed number no other lock in this database uses: see
# bot/signals/service.py, bot/delivery/turn.py, bot/accounts/referrals.py.)
RECORD_LOCK_KEY = 0x5D_C4A1


async def _one_append_at_a_time(session: AsyncSession) -> None:
    """On SQLite the one writer already takes transactions in turn; the unique seq is the
    last guard on both."""
    if session.get_bind().dialect.name == "postgresql":
        await session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": RECORD_LOCK_KEY})


async def append(
    session: AsyncSession, *, kind: str, signal_id: int, at: datetime, fields: dict[str, Json]
) -> RecordEntry:
    """The next entry of the chain, sealed and added to the caller's transaction. Its time
    is `at`, or the last entry's when that is later (another instance's clock), so the
    chain's times never go back."""
    await _one_append_at_a_time(session)
    last = (
        await session.execute(
            select(RecordEntry.seq, RecordEntry.hash, RecordEntry.at)
            .order_by(RecordEntry.seq.desc())
            .limit(1)
        )
    ).first()
    if last is not None:
        at = max(at, last.at)
    sealed = seal(
        seq=last.seq + 1 if last else 1,
        kind=kind,
        signal=signal_id,
        at=at,
        fields=fields,
        prev=last.hash if last else GENESIS,
        salt=new_salt(),
    )
    row = RecordEntry(
        seq=sealed.seq,
        type=sealed.type,
        signal_id=signal_id,
        at=at,
        commitment=sealed.commitment,
        prev=sealed.prev,
        hash=sealed.hash,
        content=sealed.content,
        salt=sealed.salt,
    )
    session.add(row)
    await session.flush()
    return row


async def signal_published(session: AsyncSession, signal: Signal, now: datetime) -> None:
    """A published signal's entry: its levels committed to, not shown."""
    fields = signal_fields(spec_of(signal))
    await append(session, kind=SIGNAL, signal_id=signal.id, at=now, fields=fields)


async def update_posted(
    session: AsyncSession, command: UpdateCommand, outcome: Outcome, now: datetime
) -> None:
    """An update's entry; an update that ends the signal reveals it and all its updates,
    and one to a signal revealed already (RECORD_REVEAL_HOURS passed) is revealed at once."""
    fields = update_fields(command, outcome)
    await append(session, kind=UPDATE, signal_id=command.signal_id, at=now, fields=fields)
    if outcome.closed or await _revealed(session, command.signal_id):
        await reveal(session, command.signal_id, now)


async def _revealed(session: AsyncSession, signal_id: int) -> bool:
    """Whether the signal's own entry is revealed (it closed, or its delay passed)."""
    found = await session.scalar(
        select(RecordEntry.seq).where(
            RecordEntry.signal_id == signal_id,
            RecordEntry.type == SIGNAL,
            RecordEntry.revealed_at.is_not(None),
        )
    )
    return found is not None


async def reveal(session: AsyncSession, signal_id: int, now: datetime) -> None:
    """Make a signal's entries' contents and salts public (those not public yet)."""
    await session.execute(
        update(RecordEntry)
        .where(RecordEntry.signal_id == signal_id, RecordEntry.revealed_at.is_(None))
        .values(revealed_at=now)
    )


@dataclass(frozen=True, slots=True)
class Recent:
    """The page's view: the newest entries (newest first), how many there are, the head."""

    entries: list[RecordEntry]
    count: int

    @property
    def head(self) -> RecordEntry | None:
        return self.entries[0] if self.entries else None


async def recent(session: AsyncSession, limit: int) -> Recent:
    rows = await session.scalars(select(RecordEntry).order_by(RecordEntry.seq.desc()).limit(limit))
    count = await session.scalar(select(func.count()).select_from(RecordEntry))
    return Recent(list(rows), int(count or 0))


async def document(session: AsyncSession, *, brand: str, now: datetime) -> dict[str, Json]:
    """The whole record as GET /track-record.json serves it (docs/track-record.md)."""
    rows = list(await session.scalars(select(RecordEntry).order_by(RecordEntry.seq)))
    revealed_signals = select(RecordEntry.signal_id).where(
        RecordEntry.type == SIGNAL, RecordEntry.revealed_at.is_not(None)
    )
    closed = {
        signal.id: signal
        for signal in await session.scalars(select(Signal).where(Signal.id.in_(revealed_signals)))
    }
    head: Json = {"seq": rows[-1].seq, "hash": rows[-1].hash} if rows else None
    return {
        "format": FORMAT,
        "brand": brand,
        "generated_at": time_text(now),
        "head": head,
        "entries": [public_entry(row, closed.get(row.signal_id)) for row in rows],
    }


def public_entry(row: RecordEntry, signal: Signal | None) -> dict[str, Json]:
    """One entry as the public sees it: its content and salt only once revealed, and a
    revealed signal's outcome as recorded (not covered by the hashes: its updates are)."""
    revealed = row.revealed_at is not None
    content = _content(row.content) if revealed else None
    return {
        "seq": row.seq,
        "type": row.type,
        "signal": row.signal_id,
        "at": time_text(row.at),
        "commitment": row.commitment,
        "prev": row.prev,
        "hash": row.hash,
        "reveal": {"content": content, "salt": row.salt} if revealed else None,
        "outcome": _outcome(signal) if revealed and row.type == SIGNAL and signal else None,
    }


def _content(stored: str) -> Json:
    """The stored content as JSON; a stored text that is not JSON any more (changed by
    hand) is served as the text, which no verifier takes for a content."""
    try:
        value: Json = json.loads(stored)
    except ValueError:
        return stored
    return value


def _outcome(signal: Signal) -> dict[str, Json]:
    return {
        "status": signal.status,
        "closed_at": time_text(signal.closed_at) if signal.closed_at else None,
        "exit_price": plain_decimal(signal.exit_price),
        "result_pct": plain_decimal(signal.result_pct),
        "result_r": plain_decimal(signal.result_r),
    }
