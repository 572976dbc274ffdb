"""GET /metrics: Prometheus' text format with what operators watch: updates, Stripe
webhooks by outcome, sends by outcome and 429s, the delivery rate, the outbox's depth and
age, scheduler jobs, cache hits; behind METRICS_TOKEN when it is set.

The registry is the process's, shared by every test in it: each test compares the figures
before and after what it does."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.support.fakes.stripe_api import make_event
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access, publish_signal, subscription_event, subscription_for

TOKEN = "m" * 32


async def scrape(harness: Harness, token: str | None = None) -> dict[tuple[str, ...], float]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with harness.http.get(f"{harness.base_url}/metrics", headers=headers) as response:
        assert response.status == 200
        assert response.content_type == "text/plain"
        text = await response.text()
    figures: dict[tuple[str, ...], float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            figures[(sample.name, *sample.labels.values())] = sample.value
    return figures


def moved(
    before: dict[tuple[str, ...], float], after: dict[tuple[str, ...], float]
) -> dict[tuple[str, ...], float]:
    return {
        key: after[key] - before.get(key, 0.0)
        for key in after
        if after[key] != before.get(key, 0.0) and key[0].endswith("_total")
    }


async def test_what_happened_is_counted(harness: Harness) -> None:
    before = await scrape(harness)
    await harness.send_text(7_990_001, "/help")
    subscription = subscription_for(7_990_001, sub_id="sub_m", customer="cus_m")
    event = subscription_event("created", subscription, created=1_800_000_000)
    assert (await harness.post_event(event))[0] == 200
    assert (await harness.post_event(event))[0] == 200  # a replay
    assert (await harness.post_event(event, signature="t=1,v1=forged"))[0] == 400
    ignored = make_event("customer.created", {"id": "cus_x", "object": "customer"})
    assert (await harness.post_event(ignored))[0] == 200
    await give_access(harness, 7_990_002)
    harness.fake_bot.fail_next("sendMessage", "429")
    await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    await harness.deliver(wait=5)
    after = await scrape(harness)
    changes = moved(before, after)
    assert changes[("signaldesk_updates_total", "handled")] == 1
    assert changes[("signaldesk_stripe_webhooks_total", "applied")] == 1
    assert changes[("signaldesk_stripe_webhooks_total", "duplicate")] == 1
    assert changes[("signaldesk_stripe_webhooks_total", "rejected")] == 1
    assert changes[("signaldesk_stripe_webhooks_total", "ignored")] == 1
    assert changes[("signaldesk_sends_total", "throttled")] == 1
    # From the outbox: the access notice and the signal to both subscribers (the /help
    # reply is the handler's own).
    assert changes[("signaldesk_sends_total", "sent")] == 3
    assert len(harness.fake_bot.sent_messages()) == 4
    assert 0 < after[("signaldesk_delivery_rate",)] < 60


async def test_the_outbox_depth_and_age_are_read_at_each_scrape(harness: Harness) -> None:
    await give_access(harness, 7_990_003, 7_990_004, 7_990_005)
    await publish_signal(harness, "ETHUSDT short entry 3000 sl 3100 tp 2800")
    waiting = await scrape(harness)
    assert waiting[("signaldesk_outbox_pending",)] == 3
    assert waiting[("signaldesk_outbox_oldest_pending_seconds",)] >= 0
    await harness.deliver(wait=5)
    done = await scrape(harness)
    assert done[("signaldesk_outbox_pending",)] == 0
    assert done[("signaldesk_outbox_oldest_pending_seconds",)] == 0


async def test_a_metrics_token_closes_the_door(make_harness: MakeHarness) -> None:
    harness = await make_harness(metrics_token=TOKEN)
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}):
        async with harness.http.get(f"{harness.base_url}/metrics", headers=headers) as response:
            assert response.status == 401
            assert (await response.json())["error"]["code"] == "unauthorized"
            assert TOKEN not in await response.text()
    figures = await scrape(harness, TOKEN)
    assert ("signaldesk_outbox_pending",) in figures
    await harness.send_text(ADMIN_ID, "/stats")
