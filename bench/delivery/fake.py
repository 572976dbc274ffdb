"""The fake Bot API in its own process: the helper-process mode (`python -m bench.delivery
--serve-fake`, a control endpoint beside the fake) and the bench's side of it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

from bench.shared.basics import JSON, READY_TIMEOUT, BenchError
from bench.shared.measures import cpu_seconds, tail_of_log
from bench.shared.servers import child_env, serve_with_control
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.processes import REPO_ROOT, stop_process

SETTLE_SECONDS = 0.3
# How long the fake may still receive sends after the worker was stopped.
SETTLE_TIMEOUT = 30.0


# ---------------------------------------------------------------------------
# Helper-process mode: the fake Bot API with a control endpoint
# ---------------------------------------------------------------------------


class _SendCounter:
    """Counts accepted sendMessage calls incrementally, so a poll costs O(new calls)."""

    def __init__(self, fake: FakeBotAPI) -> None:
        self._fake = fake
        self._cursor = 0
        self.accepted = 0

    def catch_up(self) -> int:
        calls = self._fake.calls
        for call in calls[self._cursor :]:
            if call.method == "sendMessage" and call.error is None:
                self.accepted += 1
        self._cursor = len(calls)
        return self.accepted


def fake_records(fake: FakeBotAPI) -> JSON:
    """Every sendMessage the fake accepted (chat, message id, arrival) and every 429's time."""
    # The k-th accepted sendMessage call and the k-th SentMessage are recorded in the same
    # synchronous step of the fake's handler, so zipping them in order pairs them exactly.
    sent = iter(fake.sent_messages())
    sends: list[tuple[int, int, float]] = []
    throttled: list[float] = []
    methods: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for call in fake.calls:
        methods[call.method] += 1
        if call.method != "sendMessage":
            continue
        if call.error is None:
            message = next(sent)
            if message.chat_id != call.params.get("chat_id"):
                raise RuntimeError("the fake's call log and message log are out of step")
            sends.append((int(message.chat_id), message.message_id, call.at))
        elif call.error == 429:
            throttled.append(call.at)
        else:
            errors[str(call.error)] += 1
    return {
        "sends": sends,
        "throttled": throttled,
        "methods": methods,
        "errors": errors,
        "paid": fake.paid_sent,
    }


async def serve_fake(
    global_rate: float | None, per_chat_rate: float | None, round_trip: float, jitter: float
) -> None:
    """Run the fake until stdin closes (the bench finished or died)."""
    fake = FakeBotAPI(
        global_rate=global_rate, per_chat_rate=per_chat_rate, round_trip=round_trip, jitter=jitter
    )
    counter = _SendCounter(fake)

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"sent": counter.catch_up(), "throttled": fake.throttled})

    async def records(_request: web.Request) -> web.Response:
        return web.json_response(fake_records(fake))

    control = web.Application()
    control.router.add_get("/count", count)
    control.router.add_get("/records", records)
    await serve_with_control(fake, control)


# ---------------------------------------------------------------------------
# The fake's process, seen from the bench
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Records:
    sends: list[tuple[int, int, float]]  # chat id, message id, arrival (monotonic)
    throttled: list[float]
    methods: dict[str, int]
    errors: dict[str, int]
    paid: int = 0  # sendMessage calls accepted on the paid lane


@dataclass
class Fake:
    """The fake Bot API process: its Bot API base URL and its control endpoint."""

    proc: asyncio.subprocess.Process
    api: str
    control: str
    http: aiohttp.ClientSession

    async def sent(self) -> int:
        async with self.http.get(f"{self.control}/count") as response:
            data = await response.json()
        return int(data["sent"])

    async def settled(self) -> int:
        """The accepted count once requests that were already on the wire are answered."""
        last = await self.sent()
        for _ in range(int(SETTLE_TIMEOUT / SETTLE_SECONDS)):
            await asyncio.sleep(SETTLE_SECONDS)
            now = await self.sent()
            if now == last:
                return now
            last = now
        raise BenchError(f"the fake still receives sends {SETTLE_TIMEOUT:.0f} s after the stop")

    async def records(self) -> Records:
        async with self.http.get(f"{self.control}/records") as response:
            data = await response.json()
        return Records(
            sends=[(int(c), int(m), float(t)) for c, m, t in data["sends"]],
            throttled=[float(t) for t in data["throttled"]],
            methods={str(k): int(v) for k, v in data["methods"].items()},
            errors={str(k): int(v) for k, v in data["errors"].items()},
            paid=int(data.get("paid", 0)),
        )

    def cpu(self) -> float | None:
        return cpu_seconds(self.proc.pid)


@contextlib.asynccontextmanager
async def running_fake(
    workdir: Path,
    *,
    global_rate: float | None = None,
    per_chat_rate: float | None = None,
    round_trip: float = 0.0,
    jitter: float = 0.0,
) -> AsyncIterator[Fake]:
    """The fake in its own process: `global_rate` and `per_chat_rate` enforced with 429s,
    each answer `round_trip` +- `jitter` seconds late."""
    argv = [sys.executable, "-m", "bench.delivery", "--serve-fake"]
    if round_trip:
        argv += ["--fake-round-trip", str(round_trip), "--fake-jitter", str(jitter)]
    if global_rate is not None:
        argv += ["--fake-global-rate", str(global_rate)]
    if per_chat_rate is not None:
        argv += ["--fake-per-chat-rate", str(per_chat_rate)]
    log = workdir / "fake.log"
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            cwd=REPO_ROOT,
            env=child_env(),
        )
    try:
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        except TimeoutError:
            raise BenchError(f"the fake Bot API was not ready in {READY_TIMEOUT:.0f} s") from None
        if not line:
            raise BenchError(f"the fake Bot API exited before it was ready: {tail_of_log(log)}")
        urls = json.loads(line)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as http:
            yield Fake(proc, str(urls["api"]), str(urls["control"]), http)
        if proc.returncode is not None:
            raise BenchError(f"the fake Bot API died ({proc.returncode}): {tail_of_log(log)}")
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # EOF: the fake closes its servers and exits
        await stop_process(proc, grace=5.0, sig=None)
