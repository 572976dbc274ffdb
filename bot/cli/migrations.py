"""`python -m bot migrate`: the database brought to the code's schema (Alembic)."""

from __future__ import annotations

from bot.core.settings import Settings
from bot.core.startup import open_engine
from db import migrate


async def run_migrations(settings: Settings) -> str:
    engine = open_engine(settings)
    try:
        await migrate.upgrade(engine)
        return await migrate.current_revision(engine) or "nothing"
    finally:
        await engine.dispose()
