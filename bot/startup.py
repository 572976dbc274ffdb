"""Checks every process runs before it starts work."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncEngine

from db import revision


class StartupError(Exception):
    """Start-up cannot continue; the message is one line for the operator."""


async def check_schema(engine: AsyncEngine) -> None:
    """Refuse to run on a database the migrations have not brought up to date."""
    current = await revision.current(engine)
    if current != revision.HEAD:
        raise StartupError(
            f"DATABASE_URL: schema is at {current or 'nothing'}, expected {revision.HEAD}; "
            "run `python -m bot migrate` (make run does it for you)"
        )
