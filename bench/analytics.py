"""Analytics bench: every figure of /stats and the Mini App's Analytics section
(bot/admin/analytics_reader.py, then bot/admin/analytics.py) over many subscribers with two
years of history: the time to read the rows, to compute, and the peak memory of both.

    python -m bench.analytics [--postgres] [--quick] [--subscribers N] [--runs N] [--seed N]

Subscribers start over 24 months, 3 in 4 on Stripe (a third of them after a trial, some
with failed payments recovered or not, some upgraded to a yearly plan), the rest in Stars
(some refunded); each pays monthly until they leave or now.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert

from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import PRICE_MONTHLY
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bot.admin import analytics, analytics_reader
from bot.admin.analytics_rows import Report
from bot.billing.plans import Plan
from bot.transactions.unit_of_work import UnitOfWork
from db.engine import create_engine, create_session_factory
from db.models import StarPayment, SubscriptionEvent, User

BASE_ID = 810_000_000
BATCH = 5_000
MONTHS = 24
PRICE_YEARLY = "price_bench_yearly"
PLANS = [
    Plan(PRICE_MONTHLY, "Monthly", 4900, "usd", "month", 1),
    Plan(PRICE_YEARLY, "Yearly", 49000, "usd", "year", 1),
]
TARGET_SECONDS = 2.0  # /stats answers within this at 10,000 subscribers
_EMPTY = dict.fromkeys(("status", "price_id", "amount", "currency", "period_end"))


class _Story:
    """The rows of one subscriber's history, made up from `rng`."""

    def __init__(self, rng: random.Random, now: datetime) -> None:
        self.rng, self.now = rng, now
        self.history: list[dict[str, Any]] = []
        self.stars: list[dict[str, Any]] = []

    def stripe(self, user: int, start: datetime) -> None:
        ref, month = f"sub_{user}", timedelta(days=30)
        state = self._state(user, ref)
        if self.rng.random() < 1 / 3:
            state("trialing", start)
            start += timedelta(days=14)
            if self.rng.random() < 0.4:  # noqa: PLR2004 - the trial lapses
                state("canceled", start)
                return
        state("active", start)
        price, paid = PRICE_MONTHLY, start
        while paid < self.now:
            if self.rng.random() < 0.03:  # noqa: PLR2004 - a payment fails
                self._add(user, ref, "failed", paid, amount=4900)
                state("past_due", paid)
                if self.rng.random() < 0.5:  # noqa: PLR2004 - never recovered
                    state("canceled", paid + timedelta(days=14))
                    return
                paid += timedelta(days=3)
                state("active", paid)
            if price == PRICE_MONTHLY and self.rng.random() < 0.01:  # noqa: PLR2004
                price = PRICE_YEARLY
                state("active", paid, price)
            amount = 49000 if price == PRICE_YEARLY else 4900
            self._add(user, ref, "paid", paid, amount=amount, price_id=price, currency="usd")
            if self.rng.random() < 0.05:  # noqa: PLR2004 - cancels
                state("canceled", paid + month)
                return
            paid += timedelta(days=365) if price == PRICE_YEARLY else month

    def star(self, user: int, start: datetime) -> None:
        ref, paid = f"charge_{user}", start
        while paid < self.now:
            refunded = paid + timedelta(days=2) if self.rng.random() < 0.01 else None  # noqa: PLR2004
            self.stars.append({
                "charge_id": f"charge_{user}_{len(self.stars)}", "user_id": user,
                "amount": 250, "subscription_ref": ref, "paid_at": paid,
                "paid_until": paid + timedelta(days=30), "recurring": True,
                "refunded_at": refunded,
            })  # fmt: skip
            if refunded or self.rng.random() < 0.06:  # noqa: PLR2004 - stops
                return
            paid += timedelta(days=30)

    def _state(self, user: int, ref: str) -> Any:
        def state(status: str, at: datetime, price: str = PRICE_MONTHLY) -> None:
            if at <= self.now:
                self._add(user, ref, "state", at, status=status, price_id=price)

        return state

    def _add(self, user: int, ref: str, kind: str, at: datetime, **values: Any) -> None:
        if at <= self.now:
            row = {"user_id": user, "ref": ref, "kind": kind, "at": at, "recorded_at": at}
            self.history.append({**_EMPTY, **row, **values})  # one shape: an executemany


async def _seed(url: str, subscribers: int, seed: int, now: datetime) -> tuple[int, int]:
    rng = random.Random(seed)
    story = _Story(rng, now)
    for n in range(subscribers):
        start = now - timedelta(days=rng.uniform(0, MONTHS * 30.4))
        (story.stripe if rng.random() < 0.75 else story.star)(BASE_ID + n, start)  # noqa: PLR2004
    engine = create_engine(url)
    try:
        users = [{"id": BASE_ID + n, "first_name": f"U{n}"} for n in range(subscribers)]
        for table, rows in (
            (User, users),
            (SubscriptionEvent, story.history),
            (StarPayment, story.stars),
        ):
            for first in range(0, len(rows), BATCH):
                async with engine.begin() as conn:
                    await conn.execute(insert(table), rows[first : first + BATCH])
    finally:
        await engine.dispose()
    return len(story.history), len(story.stars)


async def _measure(url: str, now: datetime) -> tuple[float, float, float, Report]:
    """Seconds to read the rows, seconds to compute, and the peak MB of both (traced apart,
    so tracing does not slow the timed run)."""
    engine = create_engine(url)
    uow = UnitOfWork(create_session_factory(engine))
    try:
        started = time.perf_counter()
        async with uow.reading() as session:
            rows = await analytics_reader.rows(session, PLANS)
        read = time.perf_counter() - started
        started = time.perf_counter()
        report = analytics.report(rows, now)
        compute = time.perf_counter() - started
        del rows
        tracemalloc.start()
        async with uow.reading() as session:
            await analytics_reader.report(session, now, PLANS)
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    finally:
        await engine.dispose()
    return read, compute, peak, report


async def bench(args: argparse.Namespace) -> int:
    print_quick_banner(args)
    backend = backend_of(args.database_url)
    now = datetime.now(UTC)
    totals: list[float] = []
    for run in range(args.runs):
        with scratch_dir("bench-analytics-") as workdir:
            url = await migrated_database(args.database_url, workdir)
            history, stars = await _seed(url, args.subscribers, args.seed + run, now)
            read, compute, peak, report = await _measure(url, now)
        totals.append(read + compute)
        mrr = ", ".join(f"{m.rail} {m.amount:,} {m.currency}" for m in report.mrr)
        print(
            f"analytics {backend:<10} subscribers={args.subscribers:,} rows={history + stars:,}  "
            f"read {read:5.2f} s  compute {compute:5.2f} s  peak {peak:5.0f} MB  "
            f"(paying {report.paying:,}; MRR {mrr}; cohorts {len(report.cohorts)})",
            flush=True,
        )
    median = statistics.median(totals)
    ok = median <= TARGET_SECONDS
    print(
        f"analytics {backend:<10} median {median:.2f} s over {len(totals)} run(s) "
        f"({'met' if ok else 'NOT met'}: <= {TARGET_SECONDS:.0f} s)",
        flush=True,
    )
    return 0 if ok else 1


def main(argv: Sequence[str]) -> int:
    parser = BenchParser(
        prog="python -m bench.analytics",
        description=__doc__ or "",
        database="signaldesk_bench_analytics",
        seed=(1, "the random histories' seed"),
    )
    parser.bounded(
        "--subscribers", full=10_000, quick=2_000, low=10, high=1_000_000,
        help="subscribers with 24 months of history",
    )  # fmt: skip
    return run_bench(bench, parser.parse(argv))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
