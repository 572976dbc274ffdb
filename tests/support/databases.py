"""The test databases: SQLite, a copy of one migrated file per test, and PostgreSQL when
TEST_DATABASE_URL is set, one database per pytest-xdist worker, migrated once and emptied
before each test."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Awaitable, Iterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

from db import migrate
from db.engine import create_engine
from db.models import Base

BACKENDS = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])


def _run(coro: Awaitable[None]) -> None:
    asyncio.run(coro)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (much faster than migrating)."""
    path = tmp_path_factory.mktemp("template") / "template.db"

    async def make() -> None:
        engine = create_engine(f"sqlite+aiosqlite:///{path}")
        await migrate.upgrade(engine)
        await engine.dispose()

    _run(make())
    return path


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """TEST_DATABASE_URL, wiped and migrated once; tests truncate between them.

    Under pytest-xdist each worker has a database of its own, named after it
    (test_gw0, test_gw1, ...) and created when missing: workers run in parallel and every
    test truncates the tables.
    """
    url = worker_database(os.environ["TEST_DATABASE_URL"])

    async def reset() -> None:
        await ensure_database(url)
        engine = create_engine(url)
        async with engine.begin() as conn:
            await conn.execute(text("DROP SCHEMA public CASCADE"))
            await conn.execute(text("CREATE SCHEMA public"))
        await migrate.upgrade(engine)
        await engine.dispose()

    _run(reset())
    yield url


def worker_suffix() -> str:
    """ "_gw0", "_gw1" ... under pytest-xdist; "" in a plain run."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    return f"_{worker}" if worker else ""


def worker_database(url: str) -> str:
    """`url` with its database name suffixed by this xdist worker's id, if any."""
    parsed = make_url(url)
    database = (parsed.database or "test") + worker_suffix()
    return parsed.set(database=database).render_as_string(hide_password=False)


async def ensure_database(url: str) -> None:
    """Create `url`'s PostgreSQL database if it does not exist (through `postgres`)."""
    parsed = make_url(url)
    admin = create_async_engine(
        parsed.set(database="postgres"), isolation_level="AUTOCOMMIT", poolclass=NullPool
    )
    try:
        async with admin.connect() as conn:
            exists = await conn.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"),
                {"name": parsed.database},
            )
            if not exists:
                await conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    finally:
        await admin.dispose()


# Every table emptied, children first, and every sequence back to 1: what TRUNCATE ..
# RESTART IDENTITY does, in one round trip on a plain connection. TRUNCATE makes new files
# for every table and an engine costs its own set-up: 45 ms a test against 12, paid by
# each of the ~700 tests on PostgreSQL.
_EMPTY_EVERY_TABLE = "; ".join(
    [f"DELETE FROM {table.name}" for table in reversed(Base.metadata.sorted_tables)]
    + [
        "SELECT setval(c.oid, 1, false) FROM pg_class c JOIN pg_namespace n "
        "ON n.oid = c.relnamespace WHERE c.relkind = 'S' AND n.nspname = 'public'"
    ]
)


async def empty_every_table(url: str) -> None:
    """Empty the PostgreSQL database at `url` (migrated) as a fresh one is."""
    parsed = make_url(url)
    connection = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await connection.execute(_EMPTY_EVERY_TABLE)
    finally:
        await connection.close()


async def empty_postgres(url: str) -> AsyncEngine:
    """This xdist worker's database on `url`'s PostgreSQL server, created if missing,
    migrated and emptied: for tests whose processes share it. The caller disposes of it."""
    url = worker_database(url)
    await ensure_database(url)
    engine = create_engine(url)
    await migrate.upgrade(engine)
    await empty_every_table(url)
    return engine


@pytest.fixture(params=BACKENDS)
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path
) -> Iterator[str]:
    if request.param == "sqlite":
        target = tmp_path / "signaldesk.db"
        shutil.copy(sqlite_template, target)
        yield f"sqlite+aiosqlite:///{target}"
        return
    url: str = request.getfixturevalue("postgres_url")
    _run(empty_every_table(url))
    yield url
