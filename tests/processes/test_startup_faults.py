"""`python -m bot` when Telegram is not there, refuses the token, or the port is taken:
one line and exit 2 for what the operator must fix; for an outage, the server stays up and
Telegram is tried again until it answers."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path
from typing import Literal

import aiohttp
import pytest

from bot.cli.serve import receive_updates
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe, make_event, make_subscription, sign_payload
from tests.support.harness import Harness
from tests.support.processes import (
    HTTP_TIMEOUT,
    PRICE,
    assert_no_token,
    assert_one_line,
    eventually,
    free_port,
    run_cli,
    running_bot,
)

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits

USER = 4242


async def test_a_rejected_token_is_one_line_and_exit_2(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    fake_bot, _ = fakes
    fake_bot.fail_next("setMyCommands", "401")
    env = {**migrated_env, "LOG_LEVEL": "ERROR", "PORT": str(free_port()), "WEB_HOST": "127.0.0.1"}
    status, stderr = await run_cli([], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, "start-up error: BOT_TOKEN: Telegram rejected the token (401)")
    assert_no_token(stderr)


@pytest.mark.parametrize(
    ("public_url", "words"),
    [
        (
            "https://bot.example.test:8080",
            "Webhook can be set up only on ports 80, 88, 443 or 8443",
        ),
        ("https://bot.example.invalid", "Failed to resolve host: Name or service not known"),
    ],
)
async def test_a_webhook_telegram_refuses_is_one_line_in_its_words_and_exit_2(
    tmp_path: Path,
    migrated_env: dict[str, str],
    fakes: tuple[FakeBotAPI, FakeStripe],
    public_url: str,
    words: str,
) -> None:
    """A 400 from setWebhook is a setting to fix, not an outage to wait out for ever."""
    fake_bot, _ = fakes
    env = {
        **migrated_env,
        "PUBLIC_URL": public_url,
        "LOG_LEVEL": "ERROR",
        "PORT": str(free_port()),
        "WEB_HOST": "127.0.0.1",
    }
    status, stderr = await run_cli([], env, tmp_path)
    assert status == 2
    assert_one_line(
        stderr,
        "start-up error: PUBLIC_URL: Telegram refused the webhook",
        f"Bad Request: bad webhook: {words}",
    )
    assert "cannot be reached" not in stderr
    assert len(fake_bot.calls_for("setWebhook")) == 1
    assert_no_token(stderr)


async def test_a_port_in_use_is_named(tmp_path: Path, migrated_env: dict[str, str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**migrated_env, "LOG_LEVEL": "ERROR", "PORT": str(port), "WEB_HOST": "127.0.0.1"}
        status, stderr = await run_cli([], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, f"start-up error: PORT: cannot listen on 127.0.0.1:{port}")
    assert "database" not in stderr


async def test_telegram_down_at_start_keeps_the_server_up_and_connects_when_it_is_back(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    telegram_port = free_port()  # nothing listens there yet
    env = {
        **migrated_env,
        "TELEGRAM_API_BASE": f"http://127.0.0.1:{telegram_port}",
        "LOG_LEVEL": "INFO",
    }
    async with (
        running_bot(env, tmp_path) as bot,
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
    ):
        await bot.wait_ready(http)  # health, and Stripe webhooks, without Telegram
        await eventually(lambda: "Telegram cannot be reached" in bot.output(), "a retry line")
        # A subscription paid meanwhile: its notice waits in the outbox.
        subscription = make_subscription(
            "sub_startup",
            customer="cus_startup",
            price_id=PRICE,
            current_period_end=int(time.time()) + 30 * 86_400,
            metadata={"telegram_user_id": str(USER)},
        )
        body = json.dumps(
            make_event("customer.subscription.created", subscription, created=int(time.time()))
        ).encode()
        async with http.post(
            bot.base_url + "/stripe/webhook",
            data=body,
            headers={"Stripe-Signature": sign_payload(body, "whsec_entrypoint")},
        ) as response:
            assert response.status == 200
        async with FakeBotAPI(port=telegram_port) as telegram:
            await eventually(lambda: bool(telegram.calls_for("setMyCommands")), "set-up calls")
            await eventually(lambda: bool(telegram.sent_messages(USER)), "the queued notice")
            assert "is active" in telegram.sent_messages(USER)[0].text
            assert await bot.terminate() == 0
    output = bot.output()
    retries = [line for line in output.splitlines() if "Telegram cannot be reached" in line]
    assert retries and all("trying again in" in line for line in retries)
    assert_no_token(output)


class _StopRightAfterConnecting(asyncio.Event):
    """A stop signal that arrives in the one instant that used to break the shutdown: after
    Telegram answered the set-up calls, before the polling task has taken its first step.
    The first waiter (racing the set-up) never wins; the next finds the signal already set.
    """

    def __init__(self) -> None:
        super().__init__()
        self.waits = 0

    async def wait(self) -> Literal[True]:
        self.waits += 1
        if self.waits == 1:
            await asyncio.get_running_loop().create_future()
        self.set()
        return True


async def test_a_stop_the_instant_polling_starts_still_stops_it_cleanly(
    harness: Harness,
) -> None:
    stop = _StopRightAfterConnecting()
    # Before the fix: RuntimeError("Polling is not started") from stop_polling(), exit 1.
    await asyncio.wait_for(receive_updates(harness.parts, stop), 30)
    assert stop.waits == 2
    assert harness.fake_bot.calls_for("setMyCommands")
