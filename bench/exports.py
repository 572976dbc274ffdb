"""Exports bench: `python -m bot export subscribers` over many subscribers, as a process of
its own, its time and its peak RSS at each size (constant memory: the peak should not grow
with the rows).

    python -m bench.exports [--postgres] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import insert

from bench import BOT_TOKEN
from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import PRICE_MONTHLY, BenchError
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.servers import child_env
from db.engine import create_engine
from db.models import Entitlement, EntitlementSource, User

BATCH = 5_000
BASE_ID = 800_000_000
TARGET_MB = 200.0  # the delivery worker's budget: an export should stay well inside it


async def _seed(url: str, count: int) -> None:
    now = datetime.now(UTC)
    engine = create_engine(url)
    try:
        for start in range(0, count, BATCH):
            ids = range(BASE_ID + start, BASE_ID + min(start + BATCH, count))
            async with engine.begin() as conn:
                await conn.execute(
                    insert(User),
                    [{"id": i, "first_name": f"User {i}", "username": f"u{i}"} for i in ids],
                )
                await conn.execute(
                    insert(Entitlement),
                    [
                        {
                            "user_id": i,
                            "source": EntitlementSource.STRIPE,
                            "source_ref": f"sub_{i}",
                            "status": "active",
                            "price_id": PRICE_MONTHLY,
                            "expires_at": now + timedelta(days=30),
                        }
                        for i in ids
                    ],
                )
    finally:
        await engine.dispose()


async def _export(url: str, out: Path, workdir: Path) -> tuple[float, float]:
    """Seconds and the peak RSS (MB) of one `python -m bot export subscribers` process."""
    env = child_env(BOT_TOKEN=BOT_TOKEN, DATABASE_URL=url)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "export", "subscribers", "--out", str(out),
        env=env, cwd=workdir, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await proc.communicate()
    took = time.perf_counter() - started
    if proc.returncode != 0:
        raise BenchError(f"export failed ({proc.returncode}): {stderr.decode()[-300:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return took, max(peak, before) / 1024


async def bench(args: argparse.Namespace) -> int:
    print_quick_banner(args)
    backend = backend_of(args.database_url)
    peaks = []
    for size in args.sizes:
        with scratch_dir("bench-exports-") as workdir:
            url = await migrated_database(args.database_url, workdir)
            await _seed(url, size)
            out = workdir / "subscribers.csv"
            took, peak = await _export(url, out, workdir)
            lines = out.read_bytes().count(b"\r\n") - 1
            if lines != size:
                raise BenchError(f"exported {lines} rows of {size}")
            peaks.append(peak)
            print(
                f"export {backend:<10} subscribers={size:>7,}  {took:6.2f} s  "
                f"{size / took:8,.0f} rows/s  peak RSS {peak:5.0f} MB  "
                f"file {out.stat().st_size / 1e6:5.1f} MB",
                flush=True,
            )
    grew = peaks[-1] - peaks[0]
    ok = peaks[-1] <= TARGET_MB and grew < 20  # noqa: PLR2004 - MB: noise, not rows
    print(
        f"export {backend:<10} memory {'constant' if grew < 20 else 'GROWS'}: peak "  # noqa: PLR2004
        f"{peaks[0]:.0f} -> {peaks[-1]:.0f} MB ({'met' if ok else 'NOT met'}: <= "
        f"{TARGET_MB:.0f} MB, flat)",
        flush=True,
    )
    return 0 if ok else 1


def main(argv: Sequence[str]) -> int:
    parser = BenchParser(
        prog="python -m bench.exports",
        description=__doc__ or "",
        database="signaldesk_bench_exports",
    )
    args = parser.parse(argv)
    args.sizes = [2_000, 10_000] if args.quick else [10_000, 100_000]
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
