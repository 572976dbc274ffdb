"""`python -m bot backup PATH` and `python -m bot restore PATH [--force]`.

SQLite: SQLite's online backup API copies a consistent snapshot of the database while the
bot keeps running (WAL mode: readers and the one writer go on), into a temporary file that
is renamed to PATH only once complete. A restore copies a backup back the same way, but
never over a database in use or one holding data unless --force says so: a restore over a
live service would send every message in its outbox again and forget every payment since.

PostgreSQL has its own tools, better than anything we would write: both commands print the
pg_dump / pg_restore line for DATABASE_URL (its password left out) and change nothing.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from bot.core.startup import StartupError
from db import urls

EXIT_NOT_DONE = 4  # nothing written: PostgreSQL is backed up with its own tools
_BUSY_MS = 5000  # how long a restore waits for another process's lock before refusing
# Tables whose rows mean "this database is in use" (a fresh, migrated one has none).
_DATA_TABLES = ("users", "entitlements", "outbox", "signals", "star_payments", "referrals")


@dataclass(frozen=True)
class Outcome:
    status: int
    line: str


def backup(database_url: str, target: Path) -> Outcome:
    path = _sqlite_path(database_url)
    if path is None:
        dsn = _dsn(database_url)
        return _postgres_line(
            f'pg_dump --format=custom --no-owner --dbname "{dsn}" --file "{target}"'
        )
    if target.exists():
        raise StartupError(f"backup: {target} exists already; choose a new file")
    if not path.exists():
        raise StartupError(f"DATABASE_URL: {path} does not exist; nothing to back up")
    partial = target.with_name(f".{target.name}.partial")
    try:
        with _connect(path, read_only=True) as source, _connect(partial) as copy:
            source.backup(copy)
            revision = _revision(copy)
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    return Outcome(0, f"backed up {path} to {target} (schema {revision}, {_size(target)})")


def restore(database_url: str, source: Path, *, force: bool) -> Outcome:
    path = _sqlite_path(database_url)
    if path is None:
        dsn = _dsn(database_url)
        return _postgres_line(
            f'pg_restore --clean --if-exists --no-owner --dbname "{dsn}" "{source}"'
        )
    if not source.is_file():
        raise StartupError(f"restore: {source} is not a file")
    with _connect(source, read_only=True) as backup_db:
        revision = _revision(backup_db)
        if revision == "nothing":
            raise StartupError(f"restore: {source} is not a SignalDesk backup")
    with _connect(path) as live:
        try:
            live.execute("BEGIN EXCLUSIVE")  # no other process may read or write meanwhile
        except sqlite3.OperationalError:
            raise StartupError(
                f"restore: {path} is in use by another process; stop the bot first"
            ) from None
        in_use = _rows_in(live)
        live.rollback()
        if in_use and not force:
            raise StartupError(
                f"restore: {path} holds {in_use} rows of data; stop the bot, keep a backup of "
                "it, and run restore again with --force to replace it"
            )
        with _connect(source, read_only=True) as backup_db:
            backup_db.backup(live)
    return Outcome(0, f"restored {path} from {source} (schema {revision}); run migrate next")


def _sqlite_path(database_url: str) -> Path | None:
    """The SQLite file DATABASE_URL names; None for PostgreSQL."""
    parts = urlsplit(database_url)
    if parts.scheme != urls.SQLITE_SCHEME:
        return None
    name = unquote(parts.path.removeprefix("/"))
    if not name or name == ":memory:" or name.startswith("file:"):
        raise StartupError("DATABASE_URL: backup and restore need a SQLite file")
    return Path(name).expanduser()


def _postgres_line(command: str) -> Outcome:
    return Outcome(
        EXIT_NOT_DONE,
        "PostgreSQL is backed up and restored with its own tools; nothing was done. Run "
        f"(the password from PGPASSWORD or ~/.pgpass): {command}",
    )


def _dsn(database_url: str) -> str:
    """libpq's URL for DATABASE_URL, without its password."""
    parts = urlsplit(urls.normalise(database_url))
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"postgresql://{user}{parts.hostname or 'localhost'}{port}{parts.path}"


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    uri = f"file:{path}?mode=ro" if read_only else f"file:{path}"
    connection = sqlite3.connect(uri, uri=True, timeout=_BUSY_MS / 1000, isolation_level=None)
    try:
        yield connection
    finally:
        connection.close()


def _revision(connection: sqlite3.Connection) -> str:
    try:
        row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.DatabaseError:
        return "nothing"
    return str(row[0]) if row else "nothing"


def _rows_in(connection: sqlite3.Connection) -> int:
    total = 0
    for table in _DATA_TABLES:
        with contextlib.suppress(sqlite3.OperationalError):  # an empty, unmigrated file
            total += connection.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]  # noqa: S608
    return total


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1_048_576:.1f} MiB" if size >= 1_048_576 else f"{size / 1024:.0f} KiB"
