"""A Stripe price that does not exist, or a key Stripe rejects: a setting to fix, named once
in Stripe's words and in /readyz, while the valid plans are still offered and nobody is told
of an outage that is not one (issue 24). Stripe not answering is still "cannot be reached"."""

from __future__ import annotations

import logging
from pathlib import Path

import aiohttp
import pytest
import stripe

from bot.billing.plans import KEY, sort_prices
from tests.support.api_client import call, login
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.harness import PRICE_MONTHLY, STRIPE_KEY, Harness, MakeHarness
from tests.support.processes import HTTP_TIMEOUT, PRICE, eventually, running_bot

USER = 7401
MISSING = "price_gone_since_yesterday"
OUTAGE_WORDS = "cannot be reached"


def _price(price_id: str, **changes: object) -> dict[str, object]:
    return {
        "id": price_id,
        "active": True,
        "type": "recurring",
        "unit_amount": 4900,
        "currency": "usd",
        "recurring": {"interval": "month", "interval_count": 1},
        "product": {"name": "Pro"},
        **changes,
    }


def _missing(price_id: str) -> stripe.InvalidRequestError:
    return stripe.InvalidRequestError(
        f"No such price: '{price_id}'", "price", code="resource_missing", http_status=404
    )


# --- the decision, on values ------------------------------------------------------------------


def test_a_missing_price_is_named_and_the_others_are_offered() -> None:
    look = sort_prices(["price_a", MISSING], [_price("price_a"), _missing(MISSING)])
    assert [plan.price_id for plan in look.plans] == ["price_a"]
    assert look.problems == {MISSING: f"No such price: '{MISSING}'"}
    assert look.outage is None


def test_an_archived_or_one_time_price_is_named_not_offered() -> None:
    look = sort_prices(
        ["price_a", "price_b"],
        [_price("price_a", active=False), _price("price_b", type="one_time", recurring=None)],
    )
    assert look.plans == []
    assert set(look.problems) == {"price_a", "price_b"}
    assert "archived" in look.problems["price_a"] and "one-time" in look.problems["price_b"]


def test_a_rejected_key_is_one_problem_without_the_key() -> None:
    refused = stripe.AuthenticationError(
        "Invalid API Key provided: sk_test_********************wxyz", http_status=401
    )
    look = sort_prices(["price_a", "price_b"], [refused, refused])
    assert look.plans == [] and look.outage is None
    assert look.problems == {KEY: "Invalid API Key provided: sk_test_…"}


def test_stripe_not_answering_is_an_outage_that_decides_nothing() -> None:
    down = stripe.APIConnectionError("Network error")
    look = sort_prices(["price_a", MISSING], [down, _missing(MISSING)])
    assert look.outage is down


def test_a_bug_of_ours_is_not_taken_for_an_answer() -> None:
    with pytest.raises(KeyError):
        sort_prices(["price_a"], [KeyError("id")])


# --- through the real app, Stripe SDK over HTTP to the fake ----------------------------------


def _ours(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Our lines, not the Stripe SDK's own request log."""
    return [r for r in caplog.records if r.name.startswith(("bot", "webapp"))]


async def _readyz(harness: Harness) -> dict[str, object]:
    async with harness.http.get(harness.base_url + "/readyz") as response:
        assert response.status == 200  # the rest of the bot works: it stays in rotation
        body: dict[str, object] = await response.json()
        return body


async def test_a_missing_price_leaves_the_valid_plans_on_offer(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness(stripe_price_ids=[PRICE_MONTHLY, MISSING])
    await harness.send_text(USER, "/subscribe")
    reply = harness.last_reply(USER)
    assert OUTAGE_WORDS not in reply.text
    buttons = [b for row in reply.params["reply_markup"]["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["Pro Signals — $49.00 / month"]
    created = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert [r.params["line_items"][0]["price"] for r in created] == [PRICE_MONTHLY]

    token = await login(harness, {"id": USER + 1, "first_name": "Mia"})
    status, body, _ = await call(harness, "GET", "/api/v1/plans", token=token)
    assert status == 200 and [p["price_id"] for p in body["plans"]] == [PRICE_MONTHLY]

    lines = [r.getMessage() for r in _ours(caplog) if MISSING in r.getMessage()]
    assert lines == [f"STRIPE_PRICE_IDS: {MISSING} is not offered: No such price: '{MISSING}'"]
    assert (await _readyz(harness))["stripe"] == {MISSING: f"No such price: '{MISSING}'"}


async def test_a_rejected_key_is_named_and_users_are_not_told_of_an_outage(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    harness = await make_harness()
    harness.fake_stripe.api_key = "sk_test_the_one_stripe_knows"  # ours is now refused
    await harness.send_text(USER, "/subscribe")
    reply = harness.last_reply(USER)
    assert OUTAGE_WORDS not in reply.text and "No plans are on offer" in reply.text
    assert harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST") == []

    token = await login(harness, {"id": USER + 1, "first_name": "Mia"})
    status, body, _ = await call(harness, "GET", "/api/v1/plans", token=token)
    assert status == 200 and body["plans"] == []

    [line] = [r for r in _ours(caplog) if "STRIPE_API_KEY" in r.getMessage()]
    assert "Invalid API Key provided: sk_test_…" in line.getMessage()
    assert line.levelno == logging.WARNING
    assert all(STRIPE_KEY not in r.getMessage() for r in caplog.records)
    assert all(STRIPE_KEY[-4:] not in r.getMessage() for r in _ours(caplog))
    assert (await _readyz(harness))["stripe"] == {KEY: "Invalid API Key provided: sk_test_…"}


async def test_stripe_down_is_still_an_outage(harness: Harness) -> None:
    harness.fake_stripe.fail_next("/v1/prices", status=500, times=10)
    await harness.send_text(USER, "/subscribe")
    assert OUTAGE_WORDS in harness.last_reply(USER).text
    assert "stripe" not in await _readyz(harness)


async def test_start_up_names_a_missing_price_before_anyone_asks(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    env = {**migrated_env, "STRIPE_PRICE_IDS": f"{PRICE},{MISSING}", "LOG_LEVEL": "INFO"}
    async with (
        running_bot(env, tmp_path) as bot,
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
    ):
        await bot.wait_ready(http)
        line = f"STRIPE_PRICE_IDS: {MISSING} is not offered: No such price: '{MISSING}'"
        await eventually(lambda: line in bot.output(), "the start-up line")
        async with http.get(bot.base_url + "/readyz") as response:
            assert (await response.json())["stripe"] == {MISSING: f"No such price: '{MISSING}'"}
        assert await bot.terminate() == 0
    assert bot.output().count(line) == 1
