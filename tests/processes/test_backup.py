"""`python -m bot backup PATH` / `restore PATH`: SQLite's online backup while the bot runs,
a restore that refuses a live database, and the pg_dump line for PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from bot.cli import backup
from bot.core.startup import StartupError
from db import revision
from db.models import Base, Entitlement, OutboxMessage, Signal, User
from tests.support.harness import Harness
from tests.support.helpers import give_access, publish_signal
from tests.support.processes import TOKEN, assert_one_line, base_env, run_cli, sqlite_url

SUBSCRIBERS = list(range(8001, 8031))
SIGNAL = "BTCUSDT long entry 65000 sl 63500 tp 67000"
ADD_A_USER = (
    "INSERT INTO users (id, first_name, created_at, updated_at) "
    "VALUES (1, 'Ann', '2026-12-06', '2026-12-06')"
)


def _rows(path: Path, query: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as connection:
        return connection.execute(query).fetchall()


async def _ids(harness: Harness, model: type) -> set[int]:
    key = model.user_id if model is Entitlement else model.id  # type: ignore[attr-defined]
    async with harness.session() as session:
        return set(await session.scalars(select(key)))


async def test_a_backup_taken_mid_broadcast_restores_every_row(
    harness: Harness, tmp_path: Path
) -> None:
    if not harness.settings.database_url.startswith("sqlite"):
        pytest.skip("SQLite's online backup (PostgreSQL: pg_dump, below)")
    await give_access(harness, *SUBSCRIBERS)
    await publish_signal(harness, SIGNAL)
    snapshot = tmp_path / "snapshot.db"
    taken: list[str] = []
    # Ten messages out, the rest still queued or in flight: the backup is taken right then,
    # while the worker goes on sending.
    harness.fake_bot.after_sends(
        10, lambda: taken.append(backup.backup(harness.settings.database_url, snapshot).line)
    )
    await harness.deliver()
    assert taken and "backed up" in taken[0]
    assert len(harness.fake_bot.sent_messages()) == len(SUBSCRIBERS)

    restored = tmp_path / "restored.db"
    outcome = backup.restore(f"sqlite+aiosqlite:///{restored}", snapshot, force=False)
    assert outcome.status == 0
    assert {r[0] for r in _rows(restored, "SELECT id FROM users")} == await _ids(harness, User)
    assert {r[0] for r in _rows(restored, "SELECT user_id FROM entitlements")} == set(SUBSCRIBERS)
    outbox = _rows(restored, "SELECT id, status FROM outbox")
    assert {r[0] for r in outbox} == await _ids(harness, OutboxMessage)
    statuses = [status for _, status in outbox]
    assert set(statuses) <= {"pending", "sent"}
    assert statuses.count("pending") >= len(SUBSCRIBERS) - 10  # taken mid-broadcast indeed
    assert len(_rows(restored, "SELECT id FROM signals")) == len(await _ids(harness, Signal))


async def test_restore_refuses_a_database_that_holds_data(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    source = tmp_path / "backup.db"
    for path in (live, source):
        _make_signaldesk_db(path)
    with sqlite3.connect(live) as connection:
        connection.execute(ADD_A_USER)
    before = live.read_bytes()
    with pytest.raises(StartupError, match="holds 1 rows of data"):
        backup.restore(f"sqlite+aiosqlite:///{live}", source, force=False)
    assert live.read_bytes() == before
    assert backup.restore(f"sqlite+aiosqlite:///{live}", source, force=True).status == 0
    assert _rows(live, "SELECT id FROM users") == []


async def test_restore_refuses_a_database_in_use(tmp_path: Path) -> None:
    live, source = tmp_path / "live.db", tmp_path / "backup.db"
    for path in (live, source):
        _make_signaldesk_db(path)
    holder = sqlite3.connect(live, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process writing
    try:
        with pytest.raises(StartupError, match="in use by another process"):
            await asyncio.to_thread(
                backup.restore, f"sqlite+aiosqlite:///{live}", source, force=True
            )
    finally:
        holder.rollback()
        holder.close()


def test_restore_refuses_a_file_that_is_not_a_backup(tmp_path: Path) -> None:
    live, junk = tmp_path / "live.db", tmp_path / "notes.txt"
    _make_signaldesk_db(live)
    junk.write_text("not a database")
    with pytest.raises(StartupError, match="not a SignalDesk backup"):
        backup.restore(f"sqlite+aiosqlite:///{live}", junk, force=True)
    with pytest.raises(StartupError, match="is not a file"):
        backup.restore(f"sqlite+aiosqlite:///{live}", tmp_path / "missing.db", force=True)


def test_backup_never_overwrites(tmp_path: Path) -> None:
    live, target = tmp_path / "live.db", tmp_path / "b.db"
    _make_signaldesk_db(live)
    target.write_text("an older backup")
    with pytest.raises(StartupError, match="exists already"):
        backup.backup(f"sqlite+aiosqlite:///{live}", target)
    assert target.read_text() == "an older backup"
    assert list(tmp_path.glob(".*partial")) == []


def test_postgresql_gets_the_pg_dump_line_without_its_password(tmp_path: Path) -> None:
    url = "postgres://app:s3cret@db.example.com:5433/signals?sslmode=require"
    outcome = backup.backup(url, tmp_path / "x.dump")
    assert outcome.status == backup.EXIT_NOT_DONE
    assert (
        'pg_dump --format=custom --no-owner --dbname "postgresql://app@db.example.com:5433/signals"'
        in outcome.line
    )
    assert "s3cret" not in outcome.line
    assert not (tmp_path / "x.dump").exists()
    restore = backup.restore(url, tmp_path / "x.dump", force=False)
    assert "pg_restore --clean --if-exists --no-owner" in restore.line


async def test_the_printed_pg_dump_line_works(tmp_path: Path) -> None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url or shutil.which("pg_dump") is None:
        pytest.skip("needs TEST_DATABASE_URL and pg_dump")
    target = tmp_path / "signaldesk.dump"
    line = backup.backup(url, target).line.partition("): ")[2]
    process = await asyncio.create_subprocess_exec(
        *shlex.split(line), stderr=asyncio.subprocess.PIPE
    )
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert target.stat().st_size > 0


async def test_the_command_line(tmp_path: Path) -> None:
    live = tmp_path / "live.db"
    _make_signaldesk_db(live)
    env = base_env(BOT_TOKEN=TOKEN, DATABASE_URL=sqlite_url(live))
    status, stderr = await run_cli(["backup", str(tmp_path / "b.db")], env, tmp_path)
    assert status == 0, stderr
    assert (tmp_path / "b.db").is_file()
    status, stderr = await run_cli(["backup", str(tmp_path / "b.db")], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, "exists already")
    with sqlite3.connect(live) as connection:
        connection.execute(ADD_A_USER)
    status, stderr = await run_cli(["restore", str(tmp_path / "b.db")], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, "--force")
    assert _rows(live, "SELECT id FROM users") == [(1,)]
    status, stderr = await run_cli(["restore", str(tmp_path / "b.db"), "--force"], env, tmp_path)
    assert status == 0, stderr
    assert _rows(live, "SELECT id FROM users") == []


def _make_signaldesk_db(path: Path) -> None:
    """A migrated, empty SignalDesk database (the schema of today's models)."""
    engine = create_engine(f"sqlite:///{path}")
    Base.metadata.create_all(engine)
    with engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE alembic_version (version_num VARCHAR(32))")
        connection.exec_driver_sql(f"INSERT INTO alembic_version VALUES ('{revision.HEAD}')")
    engine.dispose()
