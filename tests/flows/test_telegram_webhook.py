"""POST /telegram/webhook in webhook mode: secret token, malformed bodies, a real update."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from sqlalchemy import func, select

from db.models import ProcessedUpdate, User
from tests.support.harness import Harness, MakeHarness
from tests.support.helpers import state
from tests.support.processes import command_update

SECRET = "s3cret-token_for-webhooks"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
USER = 6006


@pytest.fixture
async def hook(make_harness: MakeHarness) -> Harness:
    return await make_harness(
        public_url="https://bot.example.test", telegram_webhook_secret=SECRET
    )


def _command(
    text: str, *, user: int = USER, name: str = "Eve", update_id: int = 1
) -> dict[str, Any]:
    return command_update(user, text, update_id=update_id, first_name=name)


def _start_update() -> dict[str, Any]:
    return _command("/start")


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


@pytest.mark.parametrize(
    "update",
    [
        _command("/start", update_id=2**63),
        _command("/start", user=2**63),
        _command("/start", user=2**64 + 5),
        _command("/start", update_id=-(2**63) - 1),
    ],
    ids=["update_id", "from.id", "from.id-2**64", "negative-update_id"],
)
async def test_ids_no_column_can_hold_are_400(
    hook: Harness, caplog: pytest.LogCaptureFixture, update: dict[str, Any]
) -> None:
    """Not a 500, nor a retry_later that makes Telegram send the update again for ever."""
    before = await state(hook)
    status, payload = await _post(hook, json.dumps(update).encode(), {HEADER: SECRET})
    assert status == 400 and payload["error"]["code"] == "bad_request", payload
    assert await state(hook) == before
    assert hook.replies(USER) == []
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_text] == []


async def test_update_is_handled(hook: Harness) -> None:

    status, _ = await _post(hook, json.dumps(_start_update()).encode(), {HEADER: SECRET})
    assert status == 200
    assert "Welcome, Eve" in hook.last_reply(USER).text
    async with hook.session() as session:
        assert await session.get(User, USER) is not None


async def test_webhook_mode_without_a_configured_secret_still_has_one(
    make_harness: MakeHarness,
) -> None:
    """PUBLIC_URL set, TELEGRAM_WEBHOOK_SECRET unset: a forged admin command is refused,
    and the secret derived from the bot token is what setWebhook registers."""
    from bot.telegram.setup import announce
    from db.models import Entitlement
    from tests.support.harness import ADMIN_ID
    from tests.support.helpers import count

    hook = await make_harness(public_url="https://bot.example.test")
    forged = _command("/grant 777 3650", user=ADMIN_ID, name="Mallory", update_id=77)
    before = await state(hook)
    for headers in ({}, {HEADER: ""}, {HEADER: "guess"}):
        status, _ = await _post(hook, json.dumps(forged).encode(), headers)
        assert status == 401
    assert await state(hook) == before and await count(hook, Entitlement) == 0

    await announce(hook.parts.bot, hook.parts.dispatcher, hook.settings)
    (registered,) = hook.fake_bot.calls_for("setWebhook")
    secret = hook.settings.webhook_secret_token
    assert registered["secret_token"] == secret and len(secret) == 64
    status, _ = await _post(hook, json.dumps(_start_update()).encode(), {HEADER: secret})
    assert status == 200
    assert "Welcome, Eve" in hook.last_reply(USER).text


async def test_the_answer_waits_for_the_handling(hook: Harness) -> None:
    """200 means handled: the reply has gone out before Telegram hears back."""
    status, _ = await _post(hook, json.dumps(_start_update()).encode(), {HEADER: SECRET})
    assert status == 200
    assert "Welcome, Eve" in hook.last_reply(USER).text  # no waiting, no polling


async def test_an_update_sent_again_is_answered_once(hook: Harness) -> None:
    """Telegram sends an update again when its answer was lost: a read-only command
    (/help opens no unit of work) is recorded too, and its second delivery skipped."""
    body = json.dumps(_command("/help", update_id=41)).encode()
    for _ in range(3):
        status, _ = await _post(hook, body, {HEADER: SECRET})
        assert status == 200
    assert len(hook.replies(USER)) == 1
    other = json.dumps(_command("/help", update_id=42)).encode()  # a new update is answered
    status, _ = await _post(hook, other, {HEADER: SECRET})
    assert status == 200 and len(hook.replies(USER)) == 2


async def test_with_long_polling_a_read_only_update_writes_nothing(harness: Harness) -> None:
    """One process receives, and Telegram hands out nothing twice: no write for a read."""
    await harness.send_text(USER, "/help")
    async with harness.session() as session:
        assert await session.scalar(select(func.count()).select_from(ProcessedUpdate)) == 0
