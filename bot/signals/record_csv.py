"""The verifiable record as CSV rows (GET /track-record.csv, docs/track-record.md): one row
per entry, oldest first, the same entries GET /track-record.json serves (each row is
record_store.public_entry flattened), read in batches so the whole record is never in
memory. The CSV text itself (RFC 4180, formula cells neutralised) is bot/admin/csv_rows.py's,
applied by the route."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.signals.record_chain import SIGNAL, Json
from bot.signals.record_store import public_entry
from db.models import RecordEntry, Signal

BATCH = 500  # entries read at a time
ENTRY = ("seq", "at", "type", "signal", "commitment", "prev", "hash")
CONTENT = (
    "symbol",
    "side",
    "entry_low",
    "entry_high",
    "stop_loss",
    "take_profits",
    "leverage",
    "timeframe",
    "kind",
    "price",
    "status",
    "result_pct",
    "result_r",
    "note",
)
OUTCOME = ("status", "closed_at", "exit_price", "result_pct", "result_r")
HEADER = (
    *ENTRY,
    "revealed",
    *CONTENT,
    "salt",
    *(f"outcome_{name}" for name in OUTCOME),
)


def _text(value: Json) -> object:
    """A content value as a cell: a list (the targets) as its items spaced."""
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return value


def row_of(entry: dict[str, Json]) -> list[object]:
    """One public entry (as the JSON serves it) as a CSV row, HEADER's columns in order:
    the content's columns empty while it is sealed, the outcome's for a revealed signal."""
    reveal = entry["reveal"]
    content: Any = reveal.get("content") if isinstance(reveal, dict) else None
    salt = reveal.get("salt") if isinstance(reveal, dict) else None
    fields = content if isinstance(content, dict) else {}
    outcome: Any = entry["outcome"] if isinstance(entry["outcome"], dict) else {}
    return [
        *(entry[name] for name in ENTRY),
        "true" if reveal is not None else "false",
        *(_text(fields.get(name)) for name in CONTENT),
        salt,
        *(outcome.get(name) for name in OUTCOME),
    ]


async def rows(session: AsyncSession, *, batch: int = BATCH) -> AsyncIterator[list[object]]:
    """Every entry's row, oldest first, `batch` entries a query."""
    after = 0
    while True:
        entries: Sequence[RecordEntry] = (
            await session.scalars(
                select(RecordEntry)
                .where(RecordEntry.seq > after)
                .order_by(RecordEntry.seq)
                .limit(batch)
            )
        ).all()
        if not entries:
            return
        revealed = {e.signal_id for e in entries if e.type == SIGNAL and e.revealed_at}
        signals = {
            signal.id: signal
            for signal in await session.scalars(select(Signal).where(Signal.id.in_(revealed)))
        }
        for entry in entries:
            yield row_of(public_entry(entry, signals.get(entry.signal_id)))
        after = entries[-1].seq
