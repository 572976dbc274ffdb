"""`python -m bot export subscribers|payments|signals [--since DATE] [--out FILE]`: the rows
as CSV (bot/admin/csv_rows.py says how), to FILE or to stdout, streamed: 100,000 rows in
the memory of a batch."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TextIO

from bot.admin.csv_rows import lines
from bot.admin.exports import HEADERS, Export, rows
from bot.audit import log as audit
from bot.audit.log import Actor
from bot.core.settings import Settings
from bot.core.startup import check_schema, open_engine
from bot.transactions.sessions import app_session_factory


async def run_export(
    settings: Settings, kind: Export, since: datetime | None, out: Path | None
) -> int:
    """Write the export; how many rows (the header not counted) on stderr."""
    engine = open_engine(settings)
    try:
        await check_schema(engine)
        sessions = app_session_factory(engine)
        target: TextIO = (
            out.open("w", encoding="utf-8", newline="") if out is not None else sys.stdout
        )
        count = 0
        try:
            async with sessions() as session, session.begin():

                async def counted() -> object:
                    nonlocal count
                    async for row in rows(session, kind, since):
                        count += 1
                        yield row

                async for chunk in lines(HEADERS[kind], counted()):  # type: ignore[arg-type]
                    target.write(chunk)
        finally:
            if out is not None:
                target.close()
        async with sessions() as session, session.begin():
            await audit.record(
                session,
                Actor.tool("cli"),
                audit.Action.EXPORT,
                datetime.now(UTC),
                target=str(kind),
                after={"rows": count, "since": since},
            )
        print(f"export {kind}: {count} rows", file=sys.stderr)  # noqa: T201
        return 0
    finally:
        await engine.dispose()
