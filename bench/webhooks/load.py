"""The load: signed POSTs of the plan's sends from `concurrency` workers, each timed, and
the rate and latencies over those after the warm-up."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import aiohttp

from bench.shared.basics import REQUEST_TIMEOUT, WEBHOOK_SECRET
from bench.webhooks.plan import Send
from tests.support.fakes.stripe_api import sign_payload


@dataclass(slots=True)
class Sample:
    started: float
    latency: float
    status: int  # HTTP status, 0 for a transport error
    outcome: str  # the server's "status" field: applied, duplicate, ignored (or the error)


def _outcome(raw: bytes) -> str:
    """`status` of a 2xx answer, or the `error.code` of an error answer."""
    try:
        answer = json.loads(raw)
        if "status" in answer:
            return str(answer["status"])
        return str(answer["error"]["code"])
    except (ValueError, TypeError, KeyError):
        return "unparsable"


async def send_all(base_url: str, sends: Sequence[Send], concurrency: int) -> list[Sample]:
    """`concurrency` workers pull from one queue in plan order; each request is timed."""
    queue: asyncio.Queue[tuple[int, Send]] = asyncio.Queue()
    for item in enumerate(sends):
        queue.put_nowait(item)
    samples: list[Sample | None] = [None] * len(sends)
    url = f"{base_url}/stripe/webhook"
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)

    async def worker(http: aiohttp.ClientSession) -> None:
        while True:
            try:
                index, send = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            # Signed now, not at plan time: Stripe's tolerance is 300 s.
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign_payload(send.body, WEBHOOK_SECRET),
            }
            started = time.perf_counter()
            try:
                async with http.post(url, data=send.body, headers=headers) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                latency = time.perf_counter() - started
                samples[index] = Sample(started, latency, 0, type(error).__name__)
                continue
            latency = time.perf_counter() - started
            samples[index] = Sample(started, latency, status, _outcome(raw))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return [s for s in samples if s is not None]


def summarise(samples: list[Sample], warmup: int) -> tuple[float, list[float]]:
    """Rate and sorted latencies (ms) over the requests after the warm-up."""
    measured = samples[warmup:]
    if not measured:
        return 0.0, []
    first = min(s.started for s in measured)
    last = max(s.started + s.latency for s in measured)
    rate = len(measured) / (last - first) if last > first else math.inf
    return rate, sorted(s.latency * 1000 for s in measured)
