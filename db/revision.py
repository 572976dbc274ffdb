"""The schema revision this code runs on, checked without importing Alembic.

Alembic (and Mako with it) costs ~9 MB of memory to import; the delivery-only process
(`python -m bot worker`) needs none of it to check that the schema is current.
tests/processes/test_migrations.py holds HEAD equal to Alembic's head revision.
"""

from __future__ import annotations

from sqlalchemy import inspect, text
from sqlalchemy.ext.asyncio import AsyncEngine

HEAD = "0024"


async def current(engine: AsyncEngine) -> str | None:
    """What alembic_version holds; None for a database never migrated.

    Any other database error (locked, unreachable, no permission) propagates: it is not
    a reason to tell the operator to migrate.
    """
    async with engine.connect() as connection:
        if not await connection.run_sync(lambda sync: inspect(sync).has_table("alembic_version")):
            return None
        result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        revision: str | None = result.scalar()
        return revision
