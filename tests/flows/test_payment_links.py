"""A user's payment links are made once and handed out again while valid, and the requests
of one user that reach Stripe or make an invoice are braked: a burst of /subscribe or of
Mini App calls makes one Checkout Session per plan and one Stars invoice link; a session
Stripe no longer takes payment on (expired, completed) is replaced; a request over the
budget is told to wait (429 with Retry-After in the Mini App) and makes nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.payments.links import CLAIM_SECONDS, REUSE_MARGIN, Stored, Verdict, busy_for, verdict
from tests.support.api_client import call, login
from tests.support.harness import PRICE_MONTHLY, Harness, MakeHarness

PRICE = 250
ANN = 6_910_001
BOB = 6_910_002
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)
WAIT = "Please wait a few seconds"


@pytest.fixture
async def both(make_harness: MakeHarness) -> Harness:
    return await make_harness(stars_price=PRICE)


def _made(harness: Harness) -> tuple[int, int]:
    """(Checkout Sessions created, Stars invoice links created) so far."""
    sessions = len(harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST"))
    return sessions, len(harness.fake_bot.calls_for("createInvoiceLink"))


def _stripe_calls(harness: Harness) -> int:
    return len(harness.fake_stripe.requests_to("/v1/checkout/sessions"))


def _links(harness: Harness, user_id: int) -> list[str]:
    markup = harness.last_reply(user_id).params.get("reply_markup") or {}
    return [row[0]["url"] for row in markup.get("inline_keyboard", [])]


# --- the decision, without a database -------------------------------------------------------


def _stored(url: str | None, *, expires_in: timedelta, claimed_ago: float = 0) -> Stored:
    claimed = NOW - timedelta(seconds=claimed_ago)
    return Stored(url, "cs_1" if url else None, NOW + expires_in if url else None, "c", claimed)


def test_a_valid_link_is_reused_a_claim_is_waited_for_and_the_rest_made_anew() -> None:
    assert verdict(None, NOW) is Verdict.MAKE
    assert verdict(_stored("u", expires_in=timedelta(hours=23)), NOW) is Verdict.REUSE
    # About to expire, or expired: the user needs time to pay.
    assert verdict(_stored("u", expires_in=REUSE_MARGIN), NOW) is Verdict.MAKE
    assert verdict(_stored("u", expires_in=-timedelta(seconds=1)), NOW) is Verdict.MAKE
    # Another request is making it; a claim left by a crash is taken over.
    busy = _stored(None, expires_in=timedelta(0), claimed_ago=5)
    assert verdict(busy, NOW) is Verdict.BUSY
    assert busy_for(busy, NOW) == CLAIM_SECONDS - 5
    stale = _stored(None, expires_in=timedelta(0), claimed_ago=CLAIM_SECONDS)
    assert verdict(stale, NOW) is Verdict.MAKE


def test_a_claim_dated_ahead_holds_the_user_off_no_longer_than_one_dated_behind() -> None:
    """Written by a clock that was ahead (another instance's, or this one's before it was
    put back): busy for the claim's own 30 s at most, not for the length of the jump."""
    ahead = _stored(None, expires_in=timedelta(0), claimed_ago=-3600)
    assert verdict(ahead, NOW) is Verdict.MAKE
    just_ahead = _stored(None, expires_in=timedelta(0), claimed_ago=-5)
    assert verdict(just_ahead, NOW) is Verdict.BUSY
    assert busy_for(just_ahead, NOW) == CLAIM_SECONDS - 5


# --- the chat -----------------------------------------------------------------------------


async def test_a_burst_of_subscribe_makes_one_link_per_offer(both: Harness) -> None:
    await both.send_text(ANN, "/start")
    await asyncio.gather(*(both.send_text(ANN, "/subscribe") for _ in range(50)))
    assert _made(both) == (2, 1)  # two Stripe plans, one Stars invoice
    replies = [m.text for m in both.replies(ANN)[1:]]
    assert len(replies) == 50  # noqa: PLR2004 - each /subscribe is answered
    waits = [text for text in replies if WAIT in text]
    assert waits, "the brake never answered"
    offers = {
        json.dumps(m.params["reply_markup"]) for m in both.replies(ANN)[1:] if WAIT not in m.text
    }
    [offer] = offers  # every offer shows the same three links
    urls = {row[0]["url"] for row in json.loads(offer)["inline_keyboard"]}
    sessions = {s["url"] for s in both.fake_stripe.checkout_sessions.values()}
    assert sessions < urls and len(urls) == 3  # noqa: PLR2004 - and the Stars invoice


async def test_an_expired_or_completed_session_is_replaced(both: Harness) -> None:
    await both.send_text(ANN, "/subscribe")
    first = _links(both, ANN)
    monthly = first[0].rsplit("/", 1)[-1]  # the first plan's session id, from its url
    both.fake_stripe.age_checkout_session(monthly)  # a day later: Stripe expired it
    await both.send_text(ANN, "/subscribe")
    second = _links(both, ANN)
    assert _made(both) == (3, 1)  # only the expired one is made again; Stars reused
    assert second[0] != first[0] and second[1:] == first[1:]
    newest = list(both.fake_stripe.checkout_sessions)[-1]
    both.fake_stripe.complete_checkout_session(newest)  # paid, webhook not here yet
    await both.send_text(ANN, "/subscribe")
    assert _made(both) == (4, 1) and _links(both, ANN)[0] not in (first[0], second[0])


async def test_over_the_budget_please_wait_and_nothing_is_made(both: Harness) -> None:
    await both.send_text(ANN, "/subscribe")
    for _ in range(20):  # a token every ten seconds: these run out long before
        before, calls = _made(both), _stripe_calls(both)
        await both.send_text(ANN, "/subscribe")
        if WAIT in both.last_reply(ANN).text:
            break
    else:
        pytest.fail("the brake never answered")
    assert _made(both) == before and _stripe_calls(both) == calls
    assert both.last_reply(ANN).params.get("reply_markup") is None
    await both.send_text(BOB, "/subscribe")  # one user's budget is theirs only
    assert WAIT not in both.last_reply(BOB).text


async def test_manage_is_braked_too(both: Harness) -> None:
    for _ in range(20):
        before = len(both.fake_stripe.requests_to("/v1/billing_portal/sessions"))
        await both.send_text(ANN, "/manage")
        if WAIT in both.last_reply(ANN).text:
            break
    else:
        pytest.fail("the brake never answered")
    assert len(both.fake_stripe.requests_to("/v1/billing_portal/sessions")) == before


# --- the Mini App -------------------------------------------------------------------------


async def test_a_burst_of_mini_app_checkouts_makes_one_session(both: Harness) -> None:
    token = await login(both, {"id": ANN, "first_name": "Ann"})
    answers = await asyncio.gather(
        *(
            call(
                both,
                "POST",
                "/api/v1/billing/checkout",
                token=token,
                body={"price_id": PRICE_MONTHLY},
            )
            for _ in range(30)
        )
    )
    assert _made(both) == (1, 0)
    urls = {body["url"] for status, body, _ in answers if status == 200}  # noqa: PLR2004
    assert urls == {s["url"] for s in both.fake_stripe.checkout_sessions.values()}
    refused = [(body, headers) for status, body, headers in answers if status != 200]  # noqa: PLR2004
    assert refused, "the brake never answered"
    for body, headers in refused:
        assert body["error"]["code"] == "too_many_requests"
        assert int(headers["Retry-After"]) >= 1


async def test_a_burst_of_stars_invoices_makes_one_link(both: Harness) -> None:
    token = await login(both, {"id": ANN, "first_name": "Ann"})
    answers = await asyncio.gather(
        *(call(both, "POST", "/api/v1/billing/stars-invoice", token=token) for _ in range(30))
    )
    assert _made(both) == (0, 1)
    assert len({body["url"] for status, body, _ in answers if status == 200}) == 1  # noqa: PLR2004
    assert {status for status, _, _ in answers} == {200, 429}


async def test_instances_share_links_and_the_budget(make_harness: MakeHarness) -> None:
    """Two instances on one database: a link made at one is handed out at the other; on
    PostgreSQL the user's budget is one row both take from."""
    first = await make_harness(stars_price=PRICE)
    second = await make_harness(stars_price=PRICE)
    await first.send_text(ANN, "/subscribe")
    await second.send_text(ANN, "/subscribe")
    assert _made(first) == (2, 1)  # one fake Stripe and Bot API behind both
    assert _links(first, ANN) == _links(second, ANN)
    if not first.settings.database_url.startswith("postgresql"):
        return  # one process on SQLite: its budget is in memory
    for harness in (first, second, first):  # five in all, across both
        await harness.send_text(ANN, "/subscribe")
        assert WAIT not in harness.last_reply(ANN).text
    await second.send_text(ANN, "/subscribe")
    assert WAIT in second.last_reply(ANN).text
