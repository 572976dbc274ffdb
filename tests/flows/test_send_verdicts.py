"""Every way a send can fail has a verdict (a pure function, tested without a network)."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.exceptions import (
    ClientDecodeError,
    RestartingTelegram,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import SendMessage
from aiohttp import ClientConnectorError
from aiohttp.client_reqrep import ConnectionKey

from bot.delivery.verdicts import Action, classify
from bot.delivery.worker import Claim
from tests.support.harness import BOT_TOKEN, Harness

METHOD = SendMessage(chat_id=1, text="x")


def _connector_error() -> TelegramNetworkError:
    key = ConnectionKey("api.telegram.org", 443, True, True, None, None, None)
    error = TelegramNetworkError(METHOD, "ClientConnectorError: cannot connect")
    error.__cause__ = ClientConnectorError(key, OSError(111, "Connection refused"))
    return error


CASES = [
    (TelegramRetryAfter(METHOD, "Too Many Requests", retry_after=7), Action.PAUSE, "429"),
    (
        TelegramMigrateToChat(METHOD, "upgraded", migrate_to_chat_id=-1001),
        Action.MIGRATE,
        "migrated",
    ),
    (
        TelegramForbiddenError(METHOD, "Forbidden: bot was blocked by the user"),
        Action.BLOCKED,
        "403",
    ),
    (TelegramEntityTooLarge(METHOD, "Request Entity Too Large"), Action.FAIL, "413"),
    (TelegramBadRequest(METHOD, "Bad Request: chat not found"), Action.FAIL, "400"),
    (TelegramUnauthorizedError(METHOD, "Unauthorized"), Action.UNAVAILABLE, "401"),
    (TelegramNotFound(METHOD, "Not Found"), Action.UNAVAILABLE, "404"),
    (RestartingTelegram(METHOD, "restart"), Action.UNAVAILABLE, "restarting"),
    (TelegramServerError(METHOD, "Internal Server Error"), Action.RETRY, "5xx"),
    (TelegramConflictError(METHOD, "Conflict"), Action.RETRY, "409"),
    (_connector_error(), Action.UNAVAILABLE, "unreachable"),
    (TelegramNetworkError(METHOD, "Request timeout error"), Action.RETRY, "network"),
    (
        ClientDecodeError("Failed to decode object", ValueError("x"), "<html>"),
        Action.UNAVAILABLE,
        "not JSON",
    ),
    (RuntimeError("a bug"), Action.RETRY, "unexpected RuntimeError"),
]


@pytest.mark.parametrize(
    ("error", "action", "reason"), CASES, ids=[type(c[0]).__name__ for c in CASES]
)
def test_each_failure_has_a_verdict(error: BaseException, action: Action, reason: str) -> None:
    verdict = classify(error)
    assert verdict.action is action
    assert reason in verdict.reason


def test_a_timeout_may_have_delivered_and_a_refused_connection_did_not() -> None:
    assert classify(TelegramNetworkError(METHOD, "Request timeout error")).maybe_delivered
    assert not classify(_connector_error()).maybe_delivered


def test_retry_after_and_migration_target_are_kept() -> None:
    assert classify(TelegramRetryAfter(METHOD, "x", retry_after=90)).retry_after == 90
    assert (
        classify(TelegramMigrateToChat(METHOD, "x", migrate_to_chat_id=-5)).migrate_to_chat_id
        == -5
    )


def test_an_error_page_echoing_the_token_is_not_stored_with_it() -> None:
    error = TelegramServerError(METHOD, f"Bad Gateway for /bot{BOT_TOKEN}/sendMessage")
    assert BOT_TOKEN not in classify(error).reason


async def test_a_send_starts_only_while_the_lease_outlasts_it(harness: Harness) -> None:
    worker = harness.worker(rate=10, lease=timedelta(seconds=60))
    lease_until = datetime.now(UTC) + timedelta(seconds=60)
    fresh = Claim([], lease_until, time.monotonic() + 60)
    assert worker._why_not_send(fresh, worker.pacer, False) is None
    # 15 s timeout + 5 s margin: with 19 s of lease left the send might outlive it.
    late = Claim([], lease_until, time.monotonic() + 19)
    assert worker._why_not_send(late, worker.pacer, False) == 0.0
    worker._pacer.pause(30)  # a 429: nothing goes out for 30 s, by anyone
    paused = worker._why_not_send(fresh, worker.pacer, False)
    assert paused is not None and 29 < paused <= 30
    worker.stop()
    assert worker._why_not_send(fresh, worker.pacer, False) == 0.0
    await asyncio.sleep(0)
