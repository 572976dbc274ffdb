"""The fake exchange in its own process (`python -m bench.outcomes --serve-exchange`), with
a control endpoint to script its candles and count what it was asked; and the bench's side
of it. In a process of its own so that the watcher's CPU (passes.py, in the bench's
process) is the watcher's only."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from bench.outcomes.market import SYMBOLS, walk
from bench.shared.basics import READY_TIMEOUT, BenchError
from bench.shared.measures import tail_of_log
from bench.shared.servers import child_env
from tests.support.fakes.exchange import FakeExchange
from tests.support.processes import REPO_ROOT, stop_process

MINUTE = timedelta(minutes=1)


def _when(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _control(fake: FakeExchange) -> web.Application:
    """POST /walk {seed, start, minutes}, /flat {start, end, price}, /candle {symbol, start,
    ohlc} (times in ms); GET /requests: what the fake was asked, by path and symbol."""

    async def script_walk(request: web.Request) -> web.Response:
        body = await request.json()
        start = _when(int(body["start"]))
        for index, symbol in enumerate(SYMBOLS):
            for minute, ohlc in enumerate(walk(index, int(body["seed"]), int(body["minutes"]))):
                fake.candle(symbol, start + minute * MINUTE, ohlc)
        return web.json_response({})

    async def flat(request: web.Request) -> web.Response:
        body = await request.json()
        for symbol in SYMBOLS:
            fake.flat(symbol, _when(int(body["start"])), _when(int(body["end"])), body["price"])
        return web.json_response({})

    async def candle(request: web.Request) -> web.Response:
        body = await request.json()
        fake.candle(str(body["symbol"]), _when(int(body["start"])), tuple(body["ohlc"]))
        return web.json_response({})

    async def requests(_request: web.Request) -> web.Response:
        return web.json_response(dict(fake.requests))

    app = web.Application()
    app.router.add_post("/walk", script_walk)
    app.router.add_post("/flat", flat)
    app.router.add_post("/candle", candle)
    app.router.add_get("/requests", requests)
    return app


async def serve_exchange() -> None:
    """The fake and its control app until stdin closes; their URLs first, one JSON line."""
    async with FakeExchange() as fake:
        for symbol in SYMBOLS:
            fake.market(symbol, symbol.removesuffix("USDT"), "USDT")
        runner = web.AppRunner(_control(fake), access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, "127.0.0.1", 0).start()
            control = f"http://127.0.0.1:{runner.addresses[0][1]}"
            print(json.dumps({"api": fake.base_url, "control": control}), flush=True)  # noqa: T201
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)
        finally:
            await runner.cleanup()


@dataclass
class Exchange:
    """The fake exchange's process: its API (PRICE_API_BASE) and its control endpoint."""

    api: str
    control: str
    http: aiohttp.ClientSession

    async def post(self, path: str, **body: Any) -> None:
        async with self.http.post(f"{self.control}{path}", json=body) as response:
            response.raise_for_status()

    async def klines_asked(self) -> int:
        async with self.http.get(f"{self.control}/requests") as response:
            counts: dict[str, int] = await response.json()
        return sum(n for key, n in counts.items() if key.startswith("klines:"))


@contextlib.asynccontextmanager
async def running_exchange(workdir: Path) -> AsyncIterator[Exchange]:
    log = workdir / "exchange.log"
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.outcomes",
            "--serve-exchange",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=err,
            cwd=REPO_ROOT,
            env=child_env(),
        )
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), READY_TIMEOUT)
        if not line:
            raise BenchError(f"the fake exchange exited before it was ready: {tail_of_log(log)}")
        urls = json.loads(line)
        async with aiohttp.ClientSession() as http:
            yield Exchange(str(urls["api"]), str(urls["control"]), http)
    finally:
        if proc.stdin is not None:
            proc.stdin.close()
        await stop_process(proc, grace=10.0, sig=None)
