# ruff: noqa: F811 - `hook` is a fixture imported from hostile_helpers.py
"""Hostile input on every credential header: Stripe's signature, Telegram's secret token, a
bearer token on every route, and initData: non-ASCII, lone bytes, huge, empty, impossible
or unstorable. Each gets the answer other bad credentials get (400, 401), never a 5xx,
never a traceback, and changes nothing."""

from __future__ import annotations

import json

import pytest

from tests.flows.hostile_helpers import (
    TG_HEADER,
    TG_SECRET,
    assert_no_error_logs,
    hook,  # noqa: F401 - a fixture
)
from tests.support import raw_http
from tests.support.fakes.stripe_api import make_event
from tests.support.harness import BOT_TOKEN, Harness
from tests.support.helpers import state, subscription_for
from tests.support.initdata import sign_init_data

USER = {"id": 7301, "first_name": "Noor"}

# Every /api/v1 route that takes a bearer token, with a body where it takes one.
BEARER_ROUTES: list[tuple[str, str, bytes]] = [
    ("GET", "/api/v1/me", b""),
    ("GET", "/api/v1/plans", b""),
    ("GET", "/api/v1/signals", b""),
    ("GET", "/api/v1/performance", b""),
    ("POST", "/api/v1/billing/checkout", b'{"price_id": "price_monthly_test"}'),
    ("POST", "/api/v1/billing/portal", b""),
    ("POST", "/api/v1/admin/signals/preview", b'{"text": "BTC long entry 2 sl 1 tp 3"}'),
    ("POST", "/api/v1/admin/signals", b'{"text": "BTC long entry 2 sl 1 tp 3"}'),
    ("GET", "/api/v1/admin/broadcasts/1", b""),
    ("GET", "/api/v1/admin/stats", b""),
    ("GET", "/api/v1/admin/analytics", b""),
    ("GET", "/api/v1/admin/signals", b""),
    ("GET", "/api/v1/admin/signals/1", b""),
    ("POST", "/api/v1/admin/signals/1/updates", b'{"kind": "tp1"}'),
]
BAD_AUTHORIZATION: list[str | bytes] = [
    "Bearer a.é",
    "Bearer é",
    "Bearer é.é",
    b"Bearer \xff\xfe.\x80",
    "Bearer",
    "Bearer ",
    "Basic dXNlcjpwYXNz",
    "Bearer " + "a" * 4000 + "." + "b" * 3000,
    "Bearer ..",
    "Bearer eyJ1Ijo3MzAxLCJlIjo5OTk5OTk5OTk5fQ.forged",
]


@pytest.mark.parametrize(
    "signature",
    ["t=1,v1=é", "é", "t=é,v1=abc", b"t=1,v1=\xff\xfe", "t=1", "", "v1=" + "0" * 64, "x" * 8000],
)
async def test_bad_stripe_signatures_are_400(
    harness: Harness, caplog: pytest.LogCaptureFixture, signature: str | bytes
) -> None:
    body = json.dumps(make_event("customer.subscription.created", subscription_for(7301))).encode()
    before = await state(harness)
    answer = await raw_http.request(
        harness.base_url,
        "POST",
        "/stripe/webhook",
        headers={"Stripe-Signature": signature, "Content-Type": "application/json"},
        body=body,
    )
    assert answer.status == 400
    assert answer.json()["error"]["code"] == "invalid_webhook"
    assert await state(harness) == before
    assert_no_error_logs(caplog)


@pytest.mark.parametrize(
    "secret", ["é", b"\xff\xfe", "wrong", "", TG_SECRET + "é", TG_SECRET[:-1]]
)
async def test_bad_telegram_secret_tokens_are_401(
    hook: Harness, caplog: pytest.LogCaptureFixture, secret: str | bytes
) -> None:
    update = {
        "update_id": 91,
        "message": {"message_id": 1, "date": 1, "chat": {"id": 1, "type": "private"}},
    }
    before = await state(hook)
    answer = await raw_http.request(
        hook.base_url,
        "POST",
        "/telegram/webhook",
        headers={TG_HEADER: secret, "Content-Type": "application/json"},
        body=json.dumps(update).encode(),
    )
    assert answer.status == 401
    assert answer.json()["error"]["code"] == "unauthorized"
    assert await state(hook) == before
    assert_no_error_logs(caplog)


@pytest.mark.parametrize(
    ("method", "path", "body"), BEARER_ROUTES, ids=[r[1] for r in BEARER_ROUTES]
)
async def test_bad_bearer_credentials_are_401_on_every_route(
    harness: Harness,
    caplog: pytest.LogCaptureFixture,
    method: str,
    path: str,
    body: bytes,
) -> None:
    before = await state(harness)
    for authorization in BAD_AUTHORIZATION:
        answer = await raw_http.request(
            harness.base_url,
            method,
            path,
            headers={"Authorization": authorization, "Content-Type": "application/json"},
            body=body,
        )
        assert answer.status == 401, (authorization, answer.body)
        assert answer.json()["error"]["code"] == "unauthorized"
    assert await state(harness) == before
    assert_no_error_logs(caplog)


@pytest.mark.parametrize(
    "init_data",
    [
        sign_init_data(BOT_TOKEN, USER).rsplit("hash=", 1)[0] + "hash=" + "é" * 64,
        sign_init_data(BOT_TOKEN, USER).rsplit("hash=", 1)[0] + "hash=é",
        # ASCII on the wire, "ü" once decoded: aiogram's str compare raised TypeError.
        sign_init_data(BOT_TOKEN, USER).rsplit("hash=", 1)[0] + "hash=%C3%BC",
        sign_init_data(BOT_TOKEN, USER).rsplit("hash=", 1)[0] + "hash=%C3%BC" * 32,
        "user=%7B%22id%22%3A1%7D&auth_date=1&hash=" + "ä" * 64,
        "é" * 100,
    ],
)
async def test_non_ascii_init_data_is_401(
    harness: Harness, caplog: pytest.LogCaptureFixture, init_data: str
) -> None:
    before = await state(harness)
    body = json.dumps({"init_data": init_data}, ensure_ascii=False).encode()
    answer = await raw_http.request(
        harness.base_url, "POST", "/api/v1/miniapp/exchange-initdata", body=body
    )
    assert answer.status == 401, answer.body
    assert answer.json()["error"]["code"] == "invalid_init_data"
    assert await state(harness) == before
    assert_no_error_logs(caplog)


@pytest.mark.parametrize("user_id", [2**63, 2**64 + 1, 2**53, 0, -5])
async def test_signed_init_data_with_an_impossible_user_id_is_401(
    harness: Harness, caplog: pytest.LogCaptureFixture, user_id: int
) -> None:
    before = await state(harness)
    init_data = sign_init_data(BOT_TOKEN, {"id": user_id, "first_name": "Big"})
    answer = await raw_http.request(
        harness.base_url,
        "POST",
        "/api/v1/miniapp/exchange-initdata",
        body=json.dumps({"init_data": init_data}).encode(),
    )
    assert answer.status == 401, answer.body
    assert answer.json()["error"]["code"] == "invalid_init_data"
    assert await state(harness) == before
    assert_no_error_logs(caplog)


@pytest.mark.parametrize("escaped", ["\\ud800", "hash=\\udfff", "\\u0000"])
async def test_unstorable_init_data_is_refused(
    harness: Harness, caplog: pytest.LogCaptureFixture, escaped: str
) -> None:
    before = await state(harness)
    body = ('{"init_data": "user=1&' + escaped + '"}').encode()
    answer = await raw_http.request(
        harness.base_url, "POST", "/api/v1/miniapp/exchange-initdata", body=body
    )
    assert answer.status == 400, answer.body
    assert await state(harness) == before
    assert_no_error_logs(caplog)
