"""The schema revision this code runs on, checked without importing Alembic.

Alembic (and Mako with it) costs ~9 MB of memory to import; the delivery-only process
(`python -m bot worker`) needs none of it to check that the schema is current.
tests/test_migrations.py holds HEAD equal to Alembic's head revision.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

HEAD = "0002"


async def current(engine: AsyncEngine) -> str | None:
    """What alembic_version holds; None for a database never migrated."""
    async with engine.connect() as connection:
        try:
            result = await connection.execute(text("SELECT version_num FROM alembic_version"))
        except DBAPIError:  # no such table: nothing was ever migrated
            return None
        revision: str | None = result.scalar()
        return revision
