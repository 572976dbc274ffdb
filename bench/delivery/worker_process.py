"""The worker process the delivery bench starts (worker.py): `python -m bot worker`'s
worker, made to stop when the outbox is empty and to report one JSON line.

It imports what `python -m bot worker` imports and little else (not the rest of the bench,
the fakes or Alembic), so its memory is the shipped worker's: (d) reads it.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import resource
import signal
import sys
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench import BOT_TOKEN
from bot.core.settings import load_settings
from bot.core.startup import freeze_startup_objects
from bot.delivery import worker as delivery
from bot.delivery.config import LEASE
from bot.worker import delivery_worker
from db.models import OutboxMessage, OutboxStatus

IDLE_WAIT = 0.05


def own_memory_mb(field: str = "VmHWM") -> float:
    """VmHWM (peak resident set) or VmRSS of this process; ru_maxrss if /proc is not there."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _anything_pending(session_factory: async_sessionmaker[AsyncSession]) -> bool:
    async with session_factory() as session:
        first = await session.scalar(
            select(OutboxMessage.id).where(OutboxMessage.status == OutboxStatus.PENDING).limit(1)
        )
        return first is not None


async def _stop_on_stdin_eof(stop: Callable[[], None]) -> None:
    """Stop when stdin reaches EOF: the bench closed the pipe, or died without cleaning up."""
    reader = asyncio.StreamReader()
    try:
        # On the loop, not in a thread: a daemon thread blocked in a buffered stdin read
        # aborts the interpreter at exit.
        await asyncio.get_running_loop().connect_read_pipe(
            lambda: asyncio.StreamReaderProtocol(reader), sys.stdin
        )
    except (ValueError, OSError):
        return  # stdin is a plain file (run by hand): nothing to watch
    while await reader.read(4096):
        pass
    stop()


async def worker_process(args: argparse.Namespace) -> int:
    """Build the worker as `python -m bot worker` does and drain the outbox."""
    # Bench only, this process only: (c) waits out the lease of the killed worker, and
    # 60 s of waiting per variant would add minutes without changing what it shows.
    lease = LEASE if args.lease_seconds is None else timedelta(seconds=args.lease_seconds)
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = load_settings(
        _env_file=None,
        bot_token=BOT_TOKEN,
        telegram_api_base=args.api_base,
        database_url=args.database_url,
        log_level="WARNING",
        paid_broadcast=args.paid_broadcast,  # (f): the paid lane beside the free rate
    )
    async with delivery_worker(
        settings, rate=args.rate, concurrency=args.concurrency, lease=lease
    ) as worker:
        freeze_startup_objects()
        return await _drain(worker, args)


async def _drain(worker: delivery.DeliveryWorker, args: argparse.Namespace) -> int:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    stop_requested: list[float] = []

    def stop() -> None:
        # As `python -m bot worker` on SIGTERM: stop claiming, let in-flight sends finish
        # and be recorded.
        if not stopping.is_set():
            stop_requested.append(time.monotonic())
            stopping.set()
            worker.stop()

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    watcher = asyncio.create_task(_stop_on_stdin_eof(stop))
    # Before any work: what the imports (aiogram's models above all) and the set-up cost.
    baseline_rss = own_memory_mb("VmRSS")
    started = time.monotonic()
    cpu_started = time.process_time()
    claimed = passes = 0
    timed_out = False
    try:
        # The body of DeliveryWorker.run(), which itself never returns until stop(): here
        # the process ends when nothing is pending, so the bench can time and restart it.
        while not stopping.is_set():
            if time.monotonic() - started > args.deadline:
                timed_out = True
                break
            attempted = await worker.pass_once()
            claimed += attempted
            passes += 1
            if attempted:
                continue
            if not await _anything_pending(worker.session_factory):
                break
            # Pending but not due yet (a per-chat wait, a back-off, a lease): poll briefly.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), IDLE_WAIT)
    finally:
        ended = time.monotonic()
        seconds = ended - started
        cpu = time.process_time() - cpu_started
        watcher.cancel()
    report = {
        "claimed": claimed,
        "passes": passes,
        "seconds": seconds,
        "cpu_seconds": cpu,
        "peak_rss_mb": own_memory_mb(),
        "baseline_rss_mb": baseline_rss,
        "stopped": stopping.is_set(),
        # From the signal to the end of the drain loop: in-flight sends finishing.
        "wind_down": ended - stop_requested[0] if stop_requested else None,
        "timed_out": timed_out,
    }
    print(json.dumps(report), flush=True)
    return 3 if timed_out else 0


def _rate(value: str) -> float | str:
    return "auto" if value == "auto" else float(value)


def main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.delivery.worker_process")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--rate", type=_rate, required=True, help="messages/s, or auto")
    parser.add_argument("--concurrency", type=int)
    parser.add_argument("--lease-seconds", type=float)
    parser.add_argument("--deadline", type=float, default=600.0)
    parser.add_argument("--paid-broadcast", default="off", help="PAID_BROADCAST")
    return asyncio.run(worker_process(parser.parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
