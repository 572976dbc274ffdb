"""What the benchmarks share: process control, readiness, databases, percentiles."""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import re
import signal
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import create_async_engine

REPO_ROOT = Path(__file__).resolve().parent.parent
BOT_TOKEN = "123456:BENCH-token-for-the-fake-bot-api-000"
# Bounds so a bench always ends: start-up, migrations, stopping, one request.
READY_TIMEOUT = 30.0
MIGRATE_TIMEOUT = 120.0
STOP_GRACE = 15.0
REQUEST_TIMEOUT = 30.0
JSON = dict[str, Any]


class BenchError(Exception):
    """A real failure (crash, timeout, bad setup, bad answers): the bench exits non-zero."""


@dataclass(frozen=True, slots=True)
class FakeURLs:
    stripe: str
    bot: str


async def stop_process(
    proc: asyncio.subprocess.Process, *, grace: float, sig: signal.Signals | None
) -> int:
    """Ask politely (a signal, or nothing when closing stdin already asked), then kill."""
    if proc.returncode is None and sig is not None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(sig)
    try:
        await asyncio.wait_for(proc.wait(), grace)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
    return int(proc.returncode if proc.returncode is not None else -1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_ready(proc: asyncio.subprocess.Process, base_url: str, log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            if proc.returncode is not None:
                raise BenchError(f"server exited with {proc.returncode}: {tail_of_log(log)}")
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    f"{base_url}/readyz", timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise BenchError(f"server not ready after {READY_TIMEOUT:.0f} s: {tail_of_log(log)}")


def tail_of_log(path: Path, lines: int = 5) -> str:
    try:
        text_lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line[:200] for line in text_lines[-lines:]) or "(empty log)"


def count_warnings(log: Path) -> int:
    text_lines = log.read_text(errors="replace").splitlines()
    return sum(1 for line in text_lines if " WARNING " in line or " ERROR " in line)


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the process's peak resident set, as the kernel counts it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, to tell a CPU-bound server from a starved one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def backend_of(url: str) -> str:
    return make_url(url).get_backend_name()


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


def percentile(sorted_values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    if not sorted_values:
        return math.nan
    rank = max(1, math.ceil(share * len(sorted_values)))
    return sorted_values[min(rank, len(sorted_values)) - 1]
