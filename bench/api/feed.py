"""GET /api/v1/signals: the shape of its answer, checking one, and the load that sends it
from many subscribers at once with every answer checked."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import aiohttp

from bench.shared.figures import Figures

FEED_PATH = "/api/v1/signals"
FEED_LIMIT = 50  # what GET /api/v1/signals returns at most (webapp/miniapp_api.py)
# webapp/API.md, Signal.
SIGNAL_KEYS = frozenset(
    {
        "id",
        "symbol",
        "side",
        "entry_low",
        "entry_high",
        "stop_loss",
        "take_profits",
        "leverage",
        "timeframe",
        "note",
        "status",
        "status_label",
        "tp_hit",
        "exit_price",
        "result_pct",
        "result_r",
        "published_at",
        "closed_at",
    }
)


def check_feed(raw: bytes, expected: list[tuple[int, str]]) -> str | None:
    """None when `raw` is the feed the seed implies; otherwise what is wrong."""
    try:
        body = json.loads(raw)
    except ValueError:
        return f"not JSON: {raw[:100]!r}"
    items = body.get("signals") if isinstance(body, dict) else None
    if not isinstance(items, list):
        return f"no 'signals' list: {raw[:100]!r}"
    if len(items) != len(expected):
        return f"{len(items)} signals, expected {len(expected)}"
    for item, (signal_id, status) in zip(items, expected, strict=True):
        if not isinstance(item, dict) or set(item) != SIGNAL_KEYS:
            return f"signal keys differ from API.md: {sorted(item)!r}"
        if (item["id"], item["status"]) != (signal_id, status):
            return f"got signal {item['id']} {item['status']}, expected {signal_id} {status}"
    return None


@dataclass
class Phase:
    """One burst of `total` requests at `concurrency`, every answer checked."""

    latencies: list[float]  # seconds, per request
    seconds: float
    statuses: Counter[str] = field(default_factory=Counter)  # non-200 kinds
    ok: int = 0  # 200 answers
    mismatched: int = 0
    first_problem: str | None = None

    @property
    def non_200(self) -> int:
        return sum(self.statuses.values())


def _error_code(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["error"]["code"])
    except (ValueError, TypeError, KeyError):
        return "unparsable"


async def hammer(
    http: aiohttp.ClientSession,
    *,
    url: str,
    tokens: Sequence[str],
    total: int,
    concurrency: int,
    reference: bytes,
) -> Phase:
    """`concurrency` workers, each a different subscriber, send `total` requests between them.

    Every 200 body must be byte-identical to `reference` (verified once with check_feed): the
    feed has no per-user or per-request fields, so that is a full check at memcmp cost.
    """
    latencies = [math.nan] * total
    phase = Phase(latencies=latencies, seconds=0.0)
    issued = 0
    headers = [{"Authorization": f"Bearer {token}"} for token in tokens]

    async def worker(slot: int) -> None:
        nonlocal issued
        mine = headers[slot % len(headers)]
        clock = time.perf_counter
        while issued < total:
            index = issued
            issued += 1
            started = clock()
            try:
                async with http.get(url, headers=mine) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                latencies[index] = clock() - started
                phase.statuses[f"0 {type(error).__name__}"] += 1
                continue
            latencies[index] = clock() - started
            if status != 200:
                phase.statuses[f"{status} {_error_code(raw)}"] += 1
                continue
            phase.ok += 1
            if raw != reference:
                phase.mismatched += 1
                if phase.first_problem is None:
                    phase.first_problem = f"body differs from the reference: {raw[:120]!r}"

    started = time.perf_counter()
    await asyncio.gather(*(worker(slot) for slot in range(concurrency)))
    phase.seconds = time.perf_counter() - started
    return phase


def figures_of(phase: Phase, total: int) -> Figures:
    latencies = sorted(x * 1000 for x in phase.latencies if not math.isnan(x))
    rate = total / phase.seconds if phase.seconds > 0 else math.inf
    errors = phase.non_200 + (total - len(latencies))
    return Figures.of(rate, latencies, errors, unit="req/s", name="non200")
