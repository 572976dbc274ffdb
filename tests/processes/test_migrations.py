"""Alembic migrations on a truly fresh database: head, idempotence, round trip, model parity."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from bot.core.startup import StartupError, check_schema
from db import migrate, revision
from db.engine import create_engine, create_session_factory
from db.models import Base, ProcessedStripeEvent
from tests.support.harness import worker_suffix

SCRATCH_DATABASE = "signaldesk_migr_test" + worker_suffix()  # one per xdist worker
MODEL_TABLES = set(Base.metadata.tables)


async def _recreate_postgres_database(url: str, *, create: bool) -> None:
    """Drop (and optionally create) the scratch database through the `postgres` database."""
    admin = create_async_engine(
        make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f"DROP DATABASE IF EXISTS {SCRATCH_DATABASE} WITH (FORCE)"))
            if create:
                await conn.execute(text(f"CREATE DATABASE {SCRATCH_DATABASE}"))
    finally:
        await admin.dispose()


@pytest.fixture
async def fresh_engine(database_url: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """An engine on an empty database of the backend `database_url` is parametrised with."""
    if database_url.startswith("sqlite"):
        engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")
        yield engine
        await engine.dispose()
        return
    await _recreate_postgres_database(database_url, create=True)
    url = make_url(database_url).set(database=SCRATCH_DATABASE)
    engine = create_engine(url.render_as_string(hide_password=False))
    try:
        yield engine
    finally:
        await engine.dispose()
        await _recreate_postgres_database(database_url, create=False)


def _downgrade(connection: Connection, revision: str) -> None:
    config = migrate.alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)


async def table_names(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        names: list[str] = await connection.run_sync(lambda c: inspect(c).get_table_names())
    return set(names)


def _schema_differences(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_brings_a_fresh_database_to_head(fresh_engine: AsyncEngine) -> None:
    head = migrate.head_revision()
    assert head is not None
    assert await migrate.current_revision(fresh_engine) is None
    assert not await table_names(fresh_engine) & MODEL_TABLES

    await migrate.upgrade(fresh_engine)

    assert await migrate.current_revision(fresh_engine) == head
    assert await table_names(fresh_engine) == MODEL_TABLES | {"alembic_version"}


async def test_the_revision_the_code_expects_is_alembics_head(fresh_engine: AsyncEngine) -> None:
    """db.revision answers start-up's question without importing Alembic; it must agree."""
    assert migrate.head_revision() == revision.HEAD
    assert await revision.current(fresh_engine) is None  # never migrated: no table at all
    await migrate.upgrade(fresh_engine)
    assert await revision.current(fresh_engine) == revision.HEAD


async def test_upgrade_twice_is_a_no_op_that_keeps_data(fresh_engine: AsyncEngine) -> None:
    await migrate.upgrade(fresh_engine)
    async with create_session_factory(fresh_engine)() as session:
        session.add(ProcessedStripeEvent(event_id="evt_keep", type="test", created=1))
        await session.commit()

    await migrate.upgrade(fresh_engine)

    assert await migrate.current_revision(fresh_engine) == migrate.head_revision()
    async with create_session_factory(fresh_engine)() as session:
        count = await session.scalar(select(func.count()).select_from(ProcessedStripeEvent))
    assert count == 1


async def test_downgrade_to_base_then_upgrade_again(fresh_engine: AsyncEngine) -> None:
    await migrate.upgrade(fresh_engine)

    await downgrade(fresh_engine, "base")

    assert await migrate.current_revision(fresh_engine) is None
    assert not await table_names(fresh_engine) & MODEL_TABLES

    await migrate.upgrade(fresh_engine)

    assert await migrate.current_revision(fresh_engine) == migrate.head_revision()
    assert await table_names(fresh_engine) >= MODEL_TABLES


async def test_migrated_schema_matches_the_models(fresh_engine: AsyncEngine) -> None:
    await migrate.upgrade(fresh_engine)

    async with fresh_engine.connect() as connection:
        differences = await connection.run_sync(_schema_differences)

    assert differences == []


async def test_check_schema_refuses_an_unmigrated_database(fresh_engine: AsyncEngine) -> None:
    with pytest.raises(StartupError, match=r"python -m bot migrate"):
        await check_schema(fresh_engine)

    await migrate.upgrade(fresh_engine)

    await check_schema(fresh_engine)  # does not raise


async def test_the_alembic_command_line_needs_only_database_url(tmp_path: Path) -> None:
    """`alembic upgrade head` and `alembic check` (what autogenerate compares) run with no
    BOT_TOKEN or any other setting: db/ reads nothing of the application's."""
    from tests.support.processes import REPO_ROOT, base_env

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    env = base_env(DATABASE_URL=url)
    assert "BOT_TOKEN" not in env
    for words in (["upgrade", "head"], ["check"]):
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "alembic",
            *words,
            cwd=REPO_ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, output.decode()
    engine = create_engine(url)
    try:
        assert await migrate.current_revision(engine) == revision.HEAD
    finally:
        await engine.dispose()
