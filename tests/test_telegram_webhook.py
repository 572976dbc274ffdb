"""POST /telegram/webhook in webhook mode: secret token, malformed bodies, a real update."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest

from db.models import User
from tests.conftest import Harness, MakeHarness
from tests.helpers import state

SECRET = "s3cret-token_for-webhooks"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
USER = 6006


@pytest.fixture
async def hook(make_harness: MakeHarness) -> Harness:
    return await make_harness(
        public_url="https://bot.example.test", telegram_webhook_secret=SECRET
    )


def _start_update() -> dict[str, Any]:
    return {
        "update_id": 1,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": USER, "type": "private"},
            "from": {"id": USER, "is_bot": False, "first_name": "Eve"},
            "text": "/start",
            "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }


async def _post(harness: Harness, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with harness.http.post(
        harness.base_url + "/telegram/webhook", data=body, headers=headers
    ) as response:
        return response.status, await response.json()


@pytest.mark.parametrize("headers", [{}, {HEADER: "wrong"}], ids=["missing", "wrong"])
async def test_wrong_secret_is_401(hook: Harness, headers: dict[str, str]) -> None:

    before = await state(hook)
    status, body = await _post(hook, json.dumps(_start_update()).encode(), headers)
    assert status == 401 and body["error"]["code"] == "unauthorized"
    await asyncio.sleep(0.05)
    assert await state(hook) == before
    assert hook.replies(USER) == []


@pytest.mark.parametrize("body", [b"{nope", b'{"message": "x"}', b"[]"])
async def test_malformed_update_is_400(hook: Harness, body: bytes) -> None:
    before = await state(hook)
    status, payload = await _post(hook, body, {HEADER: SECRET})
    assert status == 400 and payload["error"]["code"] == "bad_request"
    assert await state(hook) == before


async def test_update_is_handled(hook: Harness) -> None:

    status, _ = await _post(hook, json.dumps(_start_update()).encode(), {HEADER: SECRET})
    assert status == 200
    for _ in range(100):  # aiogram handles webhook updates in the background
        if hook.replies(USER):
            break
        await asyncio.sleep(0.02)
    assert "Welcome, Eve" in hook.last_reply(USER).text
    async with hook.session() as session:
        assert await session.get(User, USER) is not None
