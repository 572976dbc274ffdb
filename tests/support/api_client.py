"""Calling the Mini App API as the front end does: sign in with initData, then bearer calls."""

from __future__ import annotations

import json
from typing import Any

from tests.support.harness import BOT_TOKEN, Harness
from tests.support.initdata import sign_init_data

PAYMENT_ROUTES = frozenset({"/api/v1/billing/checkout", "/api/v1/billing/stars-invoice"})


async def call(
    harness: Harness,
    method: str,
    path: str,
    *,
    token: str | None = None,
    body: Any = None,
    raw: bytes | None = None,
    language: str | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """(status, JSON body or None, headers) of one request to the running server;
    `language` goes as Accept-Language, as the Mini App sends the one it shows. A payment
    route's caller has accepted the risk disclaimer (Harness.auto_consent)."""
    if path in PAYMENT_ROUTES and token in harness.logins:
        await harness.consented(harness.logins[token])
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if language is not None:
        headers["Accept-Language"] = language
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    async with harness.http.request(
        method, harness.base_url + path, data=data, headers=headers
    ) as response:
        payload = await response.json() if response.content_type == "application/json" else None
        return response.status, payload, dict(response.headers)


async def login(harness: Harness, user: dict[str, Any]) -> str:
    """The bearer token the initData exchange gives `user`."""
    status, body, _ = await call(
        harness,
        "POST",
        "/api/v1/miniapp/exchange-initdata",
        body={"init_data": sign_init_data(BOT_TOKEN, user)},
    )
    assert status == 200, body
    token: str = body["token"]
    harness.logins[token] = int(user["id"])
    return token
