"""The Mini App API's sign-in: initData exchanged for a bearer token (published vectors and
our own; tampered, stale, malformed and missing initData; the per-client budget, which
instances share), and the valid bearer token every route needs."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from db.models import User
from tests.flows.miniapp_helpers import USER
from tests.support.api_client import call
from tests.support.harness import BOT_TOKEN, FIXTURES, Harness, MakeHarness
from tests.support.helpers import count, state
from tests.support.initdata import sign_init_data

VECTORS = [
    v
    for v in json.loads((FIXTURES / "initdata/vectors.json").read_text())
    if v["scheme"] == "hmac"
]


# --- initData exchange ---------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["notes"][:40])
async def test_published_vectors(make_harness: MakeHarness, vector: dict[str, Any]) -> None:
    # The vectors are years old: freshness is checked separately below.
    harness = await make_harness(bot_token=vector["bot_token"], initdata_max_age_seconds=10**10)
    status, body, _ = await call(
        harness,
        "POST",
        "/api/v1/miniapp/exchange-initdata",
        body={"init_data": vector["init_data"]},
    )
    if vector["expected_valid"]:
        assert status == 200 and body["token_type"] == "Bearer"
        assert await count(harness, User) == 1
    else:
        assert status == 401 and body["error"]["code"] == "invalid_init_data"
        assert await count(harness, User) == 0


async def test_exchange_creates_the_user_and_returns_a_token(harness: Harness) -> None:
    status, body, headers = await call(
        harness,
        "POST",
        "/api/v1/miniapp/exchange-initdata",
        body={"init_data": sign_init_data(BOT_TOKEN, USER)},
    )
    assert status == 200
    assert body["user"] == USER and body["is_admin"] is False and body["expires_in"] == 3600
    assert headers["Cache-Control"] == "no-store"
    async with harness.session() as session:
        assert await session.get(User, USER["id"]) is not None


def _tampered() -> str:
    signed = sign_init_data(BOT_TOKEN, USER)
    return signed.replace("Mia", "Eve")


@pytest.mark.parametrize(
    ("init_data", "code"),
    [
        (_tampered, "invalid_init_data"),
        (
            lambda: sign_init_data(BOT_TOKEN, USER, auth_date=int(time.time()) - 90_000),
            "stale_init_data",
        ),
        (
            lambda: sign_init_data(BOT_TOKEN, USER, auth_date=int(time.time()) + 3600),
            "stale_init_data",
        ),
        (lambda: sign_init_data("999:another-bots-token", USER), "invalid_init_data"),
        (lambda: sign_init_data(BOT_TOKEN, USER).split("&hash=")[0], "invalid_init_data"),
        (lambda: "user=%7B%7D&auth_date=1&hash=abc", "invalid_init_data"),
        (lambda: "%%%not a query string", "invalid_init_data"),
    ],
    ids=["tampered", "stale", "future", "other-bot", "hash-less", "forged", "garbage"],
)
async def test_bad_init_data_is_401_and_creates_nothing(
    harness: Harness, init_data: Any, code: str
) -> None:
    before = await state(harness)
    status, body, _ = await call(
        harness, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": init_data()}
    )
    assert (status, body["error"]["code"]) == (401, code)
    assert await state(harness) == before


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"init_data": 5}', b'{"init_data": []}'])
async def test_malformed_exchange_is_400(harness: Harness, raw: bytes) -> None:
    before = await state(harness)
    status, body, _ = await call(harness, "POST", "/api/v1/miniapp/exchange-initdata", raw=raw)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    assert await state(harness) == before


@pytest.mark.parametrize("raw", [b"{}", b'{"init_data": ""}', b'{"init_data": null}', b""])
async def test_missing_init_data_is_a_missing_credential_401(harness: Harness, raw: bytes) -> None:
    before = await state(harness)
    status, body, _ = await call(harness, "POST", "/api/v1/miniapp/exchange-initdata", raw=raw)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert await state(harness) == before


async def test_exchange_is_rate_limited_per_client(harness: Harness) -> None:
    statuses = []
    for _ in range(12):
        status, _, headers = await call(
            harness, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": "x=1"}
        )
        statuses.append(status)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert int(headers["Retry-After"]) >= 1


async def test_instances_share_one_exchange_budget_per_client(
    make_harness: MakeHarness,
) -> None:
    """On PostgreSQL the budget is a row every instance takes from: ten tries at one
    instance leave none at the other, for the same client address."""
    first = await make_harness()
    if not first.settings.database_url.startswith("postgresql"):
        pytest.skip("one process on SQLite: its budget is in memory")
    second = await make_harness()
    for _ in range(10):
        status, _, _ = await call(
            first, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": "x=1"}
        )
        assert status == 401
    status, body, headers = await call(
        second, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": "x=1"}
    )
    assert (status, body["error"]["code"]) == (429, "too_many_requests")
    assert int(headers["Retry-After"]) == 6


# --- bearer auth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [None, "garbage", "a.b", "eyJ1IjogMSwgImUiOiAxfQ.forged"],
    ids=["missing", "garbage", "bad-signature", "forged"],
)
async def test_api_needs_a_valid_bearer_token(harness: Harness, token: str | None) -> None:
    for path in ("/api/v1/me", "/api/v1/signals", "/api/v1/performance", "/api/v1/plans"):
        status, body, _ = await call(harness, "GET", path, token=token)
        assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_expired_token_is_401(harness: Harness) -> None:
    from webapp.miniapp_auth import TokenSigner

    # Same key and format as the server's, issued two hours ago with a one-hour life.
    old = TokenSigner(BOT_TOKEN, ttl=3600, clock=lambda: time.time() - 7200)
    status, _, _ = await call(harness, "GET", "/api/v1/me", token=old.issue(USER["id"]))
    assert status == 401


async def test_token_of_another_bot_is_401(harness: Harness) -> None:
    from webapp.miniapp_auth import TokenSigner

    foreign = TokenSigner("555:someone-else").issue(USER["id"])
    status, _, _ = await call(harness, "GET", "/api/v1/me", token=foreign)
    assert status == 401
