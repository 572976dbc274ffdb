"""(e) a limit nobody publishes: DELIVERY_RATE=auto against a fake whose limit it is not
told, beside the loop most aiogram bots run, on the same fake."""

from __future__ import annotations

import argparse
import asyncio
import math
import random
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bench import BOT_TOKEN
from bench.delivery.fake import Records, running_fake
from bench.delivery.outbox import Check, check_delivery, seed_and_publish
from bench.delivery.targets import TARGET_LIMIT_SHARE, TARGET_THROTTLED_PER_1000
from bench.delivery.worker import WorkerOptions, run_worker, worker_timeout
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import met

if TYPE_CHECKING:
    from bench.delivery.report import Results

# (e): a limit the worker is not told, drawn from this range by the seed, with Telegram's
# 1/s per chat, behind a round trip of 30 ms +- 10 ms; DELIVERY_RATE=auto against it, and
# beside it the loop most aiogram bots run (send, sleep 0.05 s, sleep out a 429).
UNKNOWN_LIMITS = (20.0, 40.0)
ROUND_TRIP = 0.03
ROUND_TRIP_JITTER = 0.01
LOOP_SLEEP = 0.05


@dataclass
class Paced:
    """One sender against the fake: accepted sends a second and its 429s."""

    messages: int
    rate: float
    throttled: int

    def share(self, limit: float) -> float:
        return self.rate / limit

    @property
    def per_1000(self) -> float:
        return 1000 * self.throttled / max(1, self.messages)


@dataclass
class RunE:
    backend: str
    limit: float
    project: Paced
    loop: Paced
    check: Check

    def line(self) -> str:
        return (
            f"(e) {self.backend:<10} fake at {self.limit:.1f}/s (unknown to the senders) and "
            f"1/s per chat, round trip {ROUND_TRIP * 1000:.0f} ms +- "
            f"{ROUND_TRIP_JITTER * 1000:.0f} ms\n"
            f"{'':4}DELIVERY_RATE=auto: {self.project.messages:,} messages at "
            f"{self.project.rate:.2f} msg/s = {self.project.share(self.limit) * 100:.1f} % of "
            f"the limit, {self.project.throttled} x 429 ({self.project.per_1000:.2f} per 1,000)\n"
            f"{'':4}aiogram loop (send, sleep {LOOP_SLEEP} s): {self.loop.messages:,} messages "
            f"at {self.loop.rate:.2f} msg/s = {self.loop.share(self.limit) * 100:.1f} %, "
            f"{self.loop.throttled} x 429\n"
            f"{'':4}verify {self.check.describe()}"
        )


def paced(records: Records) -> Paced:
    """Accepted sends a second from the first to the last (learning included)."""
    times = sorted(at for _, _, at in records.sends)
    rate = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else math.nan
    return Paced(len(times), rate, len(records.throttled))


async def aiogram_loop(api: str, chats: list[int]) -> None:
    """What most aiogram bots do: send, sleep 0.05 s; on a 429 sleep it out and resend."""
    from aiogram import Bot
    from aiogram.client.session.aiohttp import AiohttpSession
    from aiogram.client.telegram import TelegramAPIServer
    from aiogram.exceptions import TelegramRetryAfter

    session = AiohttpSession(api=TelegramAPIServer.from_base(api))
    async with Bot(BOT_TOKEN, session=session) as bot:
        for chat in chats:
            while True:
                try:
                    await bot.send_message(chat, "Signal")
                    break
                except TelegramRetryAfter as error:
                    await asyncio.sleep(error.retry_after)
            await asyncio.sleep(LOOP_SLEEP)


async def scenario_e(
    database: str | None, subscribers: int, loop_messages: int, seed: int, options: WorkerOptions
) -> RunE:
    limit = round(random.Random(seed).uniform(*UNKNOWN_LIMITS), 1)
    fake_options = {
        "global_rate": limit,
        "per_chat_rate": 1.0,
        "round_trip": ROUND_TRIP,
        "jitter": ROUND_TRIP_JITTER,
    }
    with scratch_dir("signaldesk-bench-delivery-") as workdir:
        url = await migrated_database(database, workdir)
        chats, _ = await seed_and_publish(url, subscribers)
        async with running_fake(workdir, **fake_options) as fake:
            await run_worker(
                url,
                fake.api,
                workdir / "worker.log",
                rate="auto",
                lease=None,
                limit=worker_timeout(subscribers, UNKNOWN_LIMITS[0] * 0.8),
                options=options,
            )
            records = await fake.records()
        check = await check_delivery(url, chats, records)
        async with running_fake(workdir, **fake_options) as fake:
            await aiogram_loop(fake.api, chats[:loop_messages])
            loop_records = await fake.records()
    return RunE(backend_of(database), limit, paced(records), paced(loop_records), check)


async def run_e(args: argparse.Namespace, results: Results) -> None:
    result = await scenario_e(
        args.database_url,
        args.unknown_subscribers,
        args.loop_messages,
        args.seed,
        WorkerOptions.of(args),
    )
    results.e.append(result)
    results.failures += [f"(e): {p}" for p in result.check.problems()]
    print(result.line(), flush=True)


def rows_e(runs: list[RunE]) -> list[tuple[str, str, str]]:
    """The summary's (e) lines: figure, target, verdict."""
    rows = []
    for run in runs:
        share, per_1000 = run.project.share(run.limit), run.project.per_1000
        rows.append(
            (
                f"(e) auto, unknown limit {run.limit:.1f}/s: {run.project.rate:.2f} msg/s = "
                f"{share * 100:.1f} %, {per_1000:.2f} x 429 per 1,000",
                f">= {TARGET_LIMIT_SHARE * 100:.0f} %, <= {TARGET_THROTTLED_PER_1000:.0f} x 429 "
                "per 1,000",
                met(share >= TARGET_LIMIT_SHARE and per_1000 <= TARGET_THROTTLED_PER_1000)
                + f" (aiogram loop: {run.loop.share(run.limit) * 100:.1f} %)",
            )
        )
    return rows
