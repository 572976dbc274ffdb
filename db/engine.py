"""Async engine and session factory for SQLite (aiosqlite) and PostgreSQL (asyncpg)."""

from __future__ import annotations

import asyncio
import importlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import aiosqlite
from sqlalchemy import Column, Table, event
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import String

from db import urls

if TYPE_CHECKING:
    from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
    from sqlalchemy.dialects.sqlite import Insert as SQLiteInsert

    Insert = PostgresInsert | SQLiteInsert

SQLITE_BUSY_TIMEOUT_MS = 5000
# Execution option of a connection whose transaction only reads (bot.transactions.unit_of_work's
# reading()): on SQLite it begins without taking the write lock.
READ_ONLY = "signaldesk_read_only"
# SQLite's lower() and LIKE fold ASCII letters only ("Анна" stays "Анна"); this function,
# registered on every SQLite connection, is Python's str.lower, which folds what
# PostgreSQL's lower() folds in a UTF-8 database.
SQLITE_UNICODE_LOWER = "signaldesk_lower"


class unicode_lower(FunctionElement[str]):  # noqa: N801 - used like func.lower
    """lower(text) for every script: PostgreSQL's own lower(), SQLite's registered one."""

    type = String()
    inherit_cache = True


@compiles(unicode_lower)
def _lower_default(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(unicode_lower, "sqlite")
def _lower_sqlite(element: unicode_lower, compiler: SQLCompiler, **kw: Any) -> str:
    return f"{SQLITE_UNICODE_LOWER}({compiler.process(element.clauses, **kw)})"


def _python_lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class _LoopThreadConnection(aiosqlite.Connection):
    """aiosqlite's interface, but every call runs right here on the event loop thread.

    A statement on a local WAL-mode file takes microseconds; aiosqlite's hop to its worker
    thread and back costs 50-70 us of CPU, and SQLAlchemy makes 3-4 hops per statement.
    The price would be a loop blocked in SQLite's busy handler while another process holds
    the write lock (/healthz frozen for seconds): so SQLite's own busy wait is off, and a
    statement that finds the database locked is tried again here, after an await, for up
    to SQLITE_BUSY_TIMEOUT_MS. A statement refused as busy did nothing, so trying it again
    is safe. The worker thread still opens and closes the connection.
    """

    async def _execute(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        waited, pause = 0.0, 0.001
        while True:
            try:
                return fn(*args, **kwargs)
            except sqlite3.OperationalError as error:
                retry = _is_busy(error) and getattr(fn, "__name__", "") in _RETRYABLE
                if not retry or waited >= SQLITE_BUSY_TIMEOUT_MS / 1000:
                    raise
            await asyncio.sleep(pause)
            waited += pause
            pause = min(pause * 2, 0.05)


# Calls that only start a statement or a commit: refused as busy, they had no effect.
_RETRYABLE = frozenset({"execute", "executemany", "commit"})


def _is_busy(error: sqlite3.OperationalError) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _ensure_sqlite_dir(url: URL) -> None:
    database = url.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


@dataclass(frozen=True, slots=True)
class PoolOptions:
    """PostgreSQL's connection pool, per process (DATABASE_POOL_SIZE, ...). The defaults
    suit a small managed plan: the bot and a worker hold at most 20 connections together,
    what Heroku's smallest plan allows."""

    size: int = 5
    overflow: int = 5
    timeout: float = 30.0  # seconds a unit of work waits for a free connection


def create_engine(
    database_url: str, *, echo: bool = False, pool: PoolOptions | None = None
) -> AsyncEngine:
    """Build the engine with the settings each backend needs to be safe under concurrency.
    `database_url` may be any form db.urls accepts (postgres://...?sslmode=require)."""
    address, connect_args = urls.split(urls.normalise(database_url))
    url = make_url(address)
    if url.get_backend_name() != "sqlite":
        pool = pool or PoolOptions()
        return create_async_engine(
            url,
            echo=echo,
            pool_size=pool.size,
            max_overflow=pool.overflow,
            pool_timeout=pool.timeout,
            pool_pre_ping=True,
            connect_args=connect_args,
        )

    _ensure_sqlite_dir(url)
    # SQLite has one writer at a time. One pooled connection makes concurrent tasks queue
    # fairly in the pool instead of spinning in SQLite's busy handler, and BEGIN IMMEDIATE
    # (below) takes the write lock up front so a read-then-write transaction can never fail
    # with SQLITE_BUSY half way. _LoopThreadConnection waits out a second process's lock.
    database = url.database or ":memory:"

    async def connect() -> aiosqlite.Connection:
        # check_same_thread=False: opened on aiosqlite's thread, used on the loop's.
        # timeout=0: no busy wait inside SQLite; _LoopThreadConnection waits instead.
        connector = partial(sqlite3.connect, database, check_same_thread=False, timeout=0)
        return await _LoopThreadConnection(connector, iter_chunk_size=64)

    engine = create_async_engine(
        url, echo=echo, pool_size=1, max_overflow=0, pool_timeout=60, async_creator=connect
    )

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=0")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # durable across process crashes in WAL
        cursor.close()
        dbapi_connection.create_function(
            SQLITE_UNICODE_LOWER, 1, _python_lower, deterministic=True
        )

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # A reading transaction takes no lock: in WAL mode it reads a snapshot beside the
        # one writer, and a write in it would fail rather than wait (none is made).
        read_only = conn.get_execution_options().get(READ_ONLY, False)
        conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

    return engine


def insert_ignoring_conflicts(table: Table, key: Column[Any]) -> dict[str, Insert]:
    """INSERT .. ON CONFLICT (key) DO NOTHING, built for each dialect; execute the one for
    `connection.dialect.name`.

    Both databases spell it the same; only the construct differs. Build it once, at module
    level, so SQLAlchemy computes its cache key once. The dialect modules are imported here,
    not at the top: a SQLite-only delivery worker, which never inserts this way, then never
    loads PostgreSQL's (~2 MB).
    """
    from sqlalchemy.dialects import postgresql, sqlite  # noqa: PLC0415

    return {
        "sqlite": sqlite.insert(table).on_conflict_do_nothing(index_elements=[key]),
        "postgresql": postgresql.insert(table).on_conflict_do_nothing(index_elements=[key]),
    }


def upsert(
    table: Table, key: Column[Any] | Sequence[Column[Any]], *, update: list[str]
) -> dict[str, Insert]:
    """INSERT .. ON CONFLICT (key) DO UPDATE SET each of `update` to the inserted value,
    built for each dialect like insert_ignoring_conflicts; `key` one column or several (a
    unique constraint's)."""
    return {name: upsert_on(name, table, key, update=update) for name in ("sqlite", "postgresql")}


def upsert_on(
    dialect: str, table: Table, key: Column[Any] | Sequence[Column[Any]], *, update: list[str]
) -> Insert:
    """upsert() for one dialect only: for a module the delivery worker imports, built at
    its first use, so a SQLite worker never loads PostgreSQL's dialect (~2 MB, and the
    worker's whole budget is 200 MB)."""
    module = importlib.import_module(f"sqlalchemy.dialects.{dialect}")
    statement: Insert = module.insert(table)
    keys = [key] if isinstance(key, Column) else list(key)
    return statement.on_conflict_do_update(
        index_elements=keys, set_={column: statement.excluded[column] for column in update}
    )


def create_session_factory(
    engine: AsyncEngine, session_class: type[Session] = Session
) -> async_sessionmaker[AsyncSession]:
    """Sessions on `engine`; `session_class` carries the listeners of whoever builds it
    (bot.transactions.sessions: the application's commit events). Plain sessions here."""
    # expire_on_commit=False: handlers render objects after the transaction has committed.
    return async_sessionmaker(engine, expire_on_commit=False, sync_session_class=session_class)
