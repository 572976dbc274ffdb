"""The analytics end to end, on SQLite and PostgreSQL: signed Stripe webhooks over real HTTP
(trials, an upgrade, a failed payment recovered and one lost, a stale event, a replay),
Telegram Stars payments and a refund through the fake Bot API, referrals by deep link;
then GET /api/v1/admin/analytics and /stats, with the expected figures worked out by hand.
The subscription history holds only what was applied."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from bot.billing.event_sets import Unit
from bot.billing.stripe_shapes import parse_event
from db.models import Entitlement, SubscriptionEvent
from tests.flows.analytics_helpers import ANA, BEN, EVA, changed, paid, post, stripe_story, sub
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.stars_player import invoice_link, pay

FAY, GIL, HAL, IDA = 3_100_006, 3_100_007, 3_100_008, 3_100_009


@pytest.fixture
async def shop(make_harness: MakeHarness) -> Harness:
    harness = await make_harness(stars_price=250)
    await harness.send_text(ANA, "/help", first_name="Ana")
    return harness


async def _history(harness: Harness) -> list[tuple[int, str, str | None, int | None]]:
    async with harness.session() as session:
        rows = await session.scalars(select(SubscriptionEvent).order_by(SubscriptionEvent.id))
        return [(r.user_id, r.kind, r.status, r.amount) for r in rows]


async def test_every_figure_from_webhooks_stars_and_referrals(shop: Harness) -> None:
    await stripe_story(shop)
    newer = changed(EVA, "active", 5, event_id="evt_eva_newer")
    assert await post(shop, newer, changed(EVA, "canceled", 6)) == ["applied", "applied"]
    assert await post(shop, newer) == ["duplicate"]
    await shop.send_text(HAL, f"/start ref_{ANA}")
    await shop.send_text(IDA, f"/start ref_{ANA}")
    for user in (FAY, GIL, HAL):
        assert await pay(shop, user, await invoice_link(shop, user)) is not None
    await shop.send_text(ADMIN_ID, f"/refund {GIL} changed my mind")

    # Eva's older event lost to the newer one, and the replay was a duplicate: one row.
    assert [row for row in await _history(shop) if row[0] == EVA] == [
        (EVA, "state", "active", None)
    ]
    async with shop.session() as session:
        eva = await session.scalar(select(Entitlement).where(Entitlement.user_id == EVA))
    assert eva is not None and eva.status == "active"

    token = await login(shop, {"id": ADMIN_ID, "first_name": "Boss"})
    status, body, _ = await call(shop, "GET", "/api/v1/admin/analytics", token=token)
    assert status == 200, body
    # usd: Ana 4900 + Cat 49000/12 + Eva 4900; Stars: Fay and Hal, 500 * 30.4375 / 30.
    assert [(m["rail"], m["currency"], m["amount"], m["subscriptions"]) for m in body["mrr"]] == [
        ("stars", "xtr", 507, 2),
        ("stripe", "usd", 13883, 3),
    ]
    assert [m["label"] for m in body["mrr"]] == ["507 ⭐", "$138.83"]
    assert (body["paying"], body["unpriced"]) == (5, 0)  # Ana Cat Eva Fay Hal
    assert body["trials"] == {"started": 2, "converted": 1, "lost": 1, "running": 0, "rate": 0.5}
    assert body["dunning"] == {"failed": 2, "recovered": 1, "lost": 1, "open": 0, "rate": 0.5}
    assert body["referrals"] == {"referred": 2, "converted": 1, "rate": 0.5}
    assert [
        (r["rail"], r["name"], r["payments"], r["gross"], r["refunded"], r["net"])
        for r in body["revenue"]
    ] == [
        ("stars", None, 3, 750, 250, 500),
        ("stripe", "Pro Signals", 4, 19600, 0, 19600),
        ("stripe", "Pro Signals Yearly", 1, 49000, 0, 49000),
    ]
    months = body["movement"]["month"]
    # In: Ana Cat Don Eva Fay Gil Hal; out: Gil refunded (voluntary), Don lost in dunning.
    assert sum(m["new"] for m in months) == 7
    assert (sum(m["voluntary"] for m in months), sum(m["involuntary"] for m in months)) == (1, 1)
    assert sum(c["size"] for c in body["cohorts"]) == 7
    assert len(body["movement"]["day"]) == 30 and len(body["movement"]["week"]) == 12

    await shop.send_text(ADMIN_ID, "/stats")
    text = shop.last_reply(ADMIN_ID).text
    assert "Analytics" in text and "MRR: Telegram Stars 507 ⭐ · card (Stripe) $138.83" in text
    assert "Trial to paid: 50% (1 of 2)" in text
    assert "Failed payments recovered: 50% (1 of 2)" in text
    assert "Referrals that paid: 50% (1 of 2)" in text


async def test_a_batch_writes_its_history_in_one_statement(shop: Harness) -> None:
    """Events applied together (one group commit) append their history together, in order,
    and an event that lost to a newer one in the same batch writes none."""
    processor = shop.parts.stripe_events
    events = [
        changed(ANA, "active", 5),
        changed(ANA, "canceled", 6),  # older: loses
        paid(ANA, 4900, 5),
        changed(BEN, "trialing", 4),
    ]
    async with shop.session() as session, session.begin():
        await processor.apply_units(session, [Unit(parse_event(e)) for e in events])
    assert await _history(shop) == [
        (ANA, "state", "active", None),
        (ANA, "paid", None, 4900),
        (BEN, "state", "trialing", None),
    ]


def _succeeded(paid_event: dict[str, Any]) -> dict[str, Any]:
    """The same payment's other event: Stripe sends invoice.payment_succeeded beside
    invoice.paid (its own event id, the same invoice); an endpoint may listen to both."""
    twin_id = paid_event["id"] + "_succeeded"
    return {**paid_event, "id": twin_id, "type": "invoice.payment_succeeded"}


async def test_an_invoice_paid_is_history_once_whatever_reports_it(shop: Harness) -> None:
    """invoice.paid and invoice.payment_succeeded of one invoice, in one batch and in
    batches apart: one paid row each, so revenue counts each payment once."""
    processor = shop.parts.stripe_events
    first = paid(ANA, 4900, 5)
    events = [changed(ANA, "active", 5), first, _succeeded(first)]
    async with shop.session() as session, session.begin():
        await processor.apply_units(session, [Unit(parse_event(e)) for e in events])
    later = paid(ANA, 4900, 2)  # the next month's invoice: a payment of its own
    assert await post(shop, later, _succeeded(later)) == ["applied", "applied"]
    assert await _history(shop) == [
        (ANA, "state", "active", None),
        (ANA, "paid", None, 4900),
        (ANA, "paid", None, 4900),
    ]
    token = await login(shop, {"id": ADMIN_ID, "first_name": "Boss"})
    status, body, _ = await call(shop, "GET", "/api/v1/admin/analytics", token=token)
    assert status == 200, body
    assert [(r["payments"], r["gross"]) for r in body["revenue"]] == [(2, 9800)]


async def test_analytics_needs_an_admin(shop: Harness) -> None:
    await stripe_story(shop)
    before = await _history(shop)
    assert (await call(shop, "GET", "/api/v1/admin/analytics"))[:2] == (
        401,
        {"error": {"code": "unauthorized", "message": "missing bearer token"}},
    )
    token = await login(shop, {"id": FAY, "first_name": "Fay"})
    status, body, _ = await call(shop, "GET", "/api/v1/admin/analytics?now=1&x=%00", token=token)
    assert (status, body["error"]["code"]) == (403, "not_allowed")
    status, body, _ = await call(shop, "GET", "/api/v1/admin/analytics", token="nonsense")
    assert status == 401
    await shop.send_text(FAY, "/stats")
    assert "Analytics" not in shop.last_reply(FAY).text
    admin = await login(shop, {"id": ADMIN_ID, "first_name": "Boss"})
    status, plain, _ = await call(shop, "GET", "/api/v1/admin/analytics", token=admin)
    odd = "/api/v1/admin/analytics?now=-1&unit=%3Cscript%3E&since=%F0%9F%92%A5"
    status_odd, with_junk, _ = await call(shop, "GET", odd, token=admin)
    assert (status, status_odd) == (200, 200)  # what it does not read, it ignores
    assert {**with_junk, "now": None} == {**plain, "now": None}
    assert await _history(shop) == before


async def test_a_repair_by_reconciliation_is_history_and_a_dry_run_is_not(shop: Harness) -> None:
    """A cancellation whose webhook never came, found by `reconcile`: its history row is
    written with the repair, and --dry-run (rolled back) leaves none."""
    await post(shop, changed(BEN, "active", 9))
    shop.fake_stripe.add_subscription(sub(BEN, "canceled"))
    assert shop.parts.reconciler is not None
    await shop.parts.reconciler.run(dry_run=True)
    assert await _history(shop) == [(BEN, "state", "active", None)]
    await shop.parts.reconciler.run(dry_run=False)
    assert await _history(shop) == [
        (BEN, "state", "active", None),
        (BEN, "state", "canceled", None),
    ]
