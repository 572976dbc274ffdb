"""Bearer tokens: POST /api/v1/miniapp/exchange-initdata from several loopback addresses,
and the checks that the access check is real."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from bench import BOT_TOKEN
from bench.api.feed import FEED_PATH
from bench.shared.basics import REQUEST_TIMEOUT, BenchError
from tests.support.initdata import sign_init_data

EXCHANGE_PATH = "/api/v1/miniapp/exchange-initdata"
# webapp/app.py: ten initData exchanges at once per client address, then one every 6 s.
# Tokens are spread over 127.0.0.2.. (all of 127.0.0.0/8 is loopback on Linux) so the
# bench never waits for the bucket to refill and never sees a 429.
EXCHANGE_BURST = 10
FIRST_CLIENT_HOST = 2
LAST_CLIENT_HOST = 254


def client_host(slot: int) -> str:
    return f"127.0.0.{FIRST_CLIENT_HOST + slot}"


def _init_data(user_id: int) -> str:
    user = {"id": user_id, "first_name": f"Sub {user_id}", "username": f"sub{user_id}"}
    return sign_init_data(BOT_TOKEN, user)


async def _exchange(http: aiohttp.ClientSession, base_url: str, user_id: int) -> str:
    async with http.post(
        base_url + EXCHANGE_PATH, json={"init_data": _init_data(user_id)}
    ) as response:
        raw = await response.read()
        if response.status != 200:
            raise BenchError(
                f"exchange-initdata for user {user_id}: {response.status} {raw[:200]!r}"
            )
    answer = json.loads(raw)
    if answer.get("token_type") != "Bearer" or answer.get("user", {}).get("id") != user_id:
        raise BenchError(f"exchange-initdata answered {answer!r}")
    return str(answer["token"])


@contextlib.asynccontextmanager
async def bound_client(host: str) -> AsyncIterator[aiohttp.ClientSession]:
    """A client whose connections come from `host` (one rate-limit bucket per address)."""
    connector = aiohttp.TCPConnector(local_addr=(host, 0), limit=4)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        yield http


async def obtain_tokens(base_url: str, user_ids: Sequence[int]) -> list[str]:
    """One token per user, at most EXCHANGE_BURST exchanges per client address."""
    chunks = [
        list(user_ids[start : start + EXCHANGE_BURST])
        for start in range(0, len(user_ids), EXCHANGE_BURST)
    ]

    async def from_address(slot: int, chunk: list[int]) -> list[str]:
        async with bound_client(client_host(slot)) as http:
            return [await _exchange(http, base_url, uid) for uid in chunk]

    results = await asyncio.gather(*(from_address(i, c) for i, c in enumerate(chunks)))
    return [token for chunk_tokens in results for token in chunk_tokens]


async def _get(http: aiohttp.ClientSession, url: str, token: str | None) -> tuple[int, Any]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with http.get(url, headers=headers) as response:
        return response.status, json.loads(await response.read())


async def negative_checks(base_url: str, lapsed_user: int, slot: int) -> str:
    """The access check is real: 401 without a token, 403 no_access for a lapsed subscriber."""
    async with bound_client(client_host(slot)) as http:
        token = await _exchange(http, base_url, lapsed_user)
        url = base_url + FEED_PATH
        no_token = await _get(http, url, None)
        lapsed = await _get(http, url, token)
        forged = await _get(http, url, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    outcome = {
        "no token": (no_token, 401, "unauthorized"),
        "lapsed": (lapsed, 403, "no_access"),
        "forged": (forged, 401, "unauthorized"),
    }
    for name, ((status, body), want_status, want_code) in outcome.items():
        code = body.get("error", {}).get("code") if isinstance(body, dict) else None
        if status != want_status or code != want_code:
            raise BenchError(
                f"{name}: expected {want_status} {want_code}, got {status} {body!r:.200}"
            )
    return "401 without token, 401 forged, 403 no_access for a lapsed subscriber"
