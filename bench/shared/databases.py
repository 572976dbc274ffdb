"""A fresh database for every run (a SQLite file, or a PostgreSQL database dropped and
recreated), migrated as `python -m bot migrate` does; and the run's scratch directory."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

from bench.shared.basics import MIGRATE_TIMEOUT, BenchError
from db import migrate
from db.engine import create_engine


def backend_of(url: str | None) -> str:
    """The backend of `url`; None (the default database) is SQLite."""
    return "sqlite" if url is None else make_url(url).get_backend_name()


def check_disposable(url: str) -> None:
    """Each run wipes the database: refuse one whose name doesn't say it is for benches."""
    name = make_url(url).database or ""
    if "bench" not in Path(name).name:
        raise BenchError(
            f"--database-url: every run drops and recreates the database, so its name must "
            f"contain 'bench' (got {name!r})"
        )


def remove_sqlite_files(database: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)


async def recreate_postgres(url: str | URL, *, create: bool = True) -> None:
    """Drop the database `url` names and, unless `create` is false, create it empty."""
    url = make_url(url)
    name = url.database or ""
    if not re.fullmatch(r"[A-Za-z0-9_]+", name):
        raise BenchError(f"database name {name!r}: use letters, digits and _ only")
    check_disposable(str(url))
    # DROP/CREATE DATABASE cannot run in a transaction, nor while connected to it.
    admin = create_async_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            if create:
                await conn.execute(text(f'CREATE DATABASE "{name}"'))
    except (OSError, SQLAlchemyError) as error:
        line = str(error).splitlines()[0]
        raise BenchError(f"PostgreSQL at {url.host}:{url.port}: {line}") from error
    finally:
        await admin.dispose()


async def fresh_database(url: str | None, workdir: Path) -> str:
    """A new empty database for one run: a SQLite file in workdir, or a recreated one."""
    if url is None:
        return f"sqlite+aiosqlite:///{workdir / 'signaldesk.db'}"
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        remove_sqlite_files(parsed.database or "")
        return url
    await recreate_postgres(parsed)
    return url


async def migrated_database(url: str | None, workdir: Path) -> str:
    """`fresh_database`, brought to the newest revision as `python -m bot migrate` does it
    (the same db.migrate.upgrade, in this process: no second aiogram import per run)."""
    url = await fresh_database(url, workdir)
    engine = create_engine(url)
    try:
        await asyncio.wait_for(migrate.upgrade(engine), MIGRATE_TIMEOUT)
    except TimeoutError:
        raise BenchError(f"migrations took over {MIGRATE_TIMEOUT:.0f} s") from None
    finally:
        await engine.dispose()
    return url


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory, removed afterwards unless BENCH_KEEP=1 (to read the logs)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield path
    finally:
        if os.environ.get("BENCH_KEEP") == "1":
            print(f"kept    {path}", file=sys.stderr)
        else:
            shutil.rmtree(path, ignore_errors=True)
