"""The Mini App API's endpoints, every status code: the subscriber's (me, signals,
performance, plans, checkout and the portal, billing not configured) and the admin's
(preview, send, progress, stats; refused to subscribers, and bad input changing nothing)."""

from __future__ import annotations

from db.models import Signal
from tests.flows.miniapp_helpers import USER, _login
from tests.support.api_client import call
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import count, give_access, post_signal_update, publish_signal, state

# --- subscriber endpoints ------------------------------------------------------------------


async def test_me_without_and_with_a_subscription(harness: Harness) -> None:
    token = await _login(harness)
    status, body, _ = await call(harness, "GET", "/api/v1/me", token=token)
    assert status == 200 and body["subscription"] is None and body["has_access"] is False
    assert body["billing_enabled"] is True and body["can_manage_billing"] is False
    await give_access(harness, 7102)
    token = await _login(harness, {"id": 7102, "first_name": "Ned"})
    status, body, _ = await call(harness, "GET", "/api/v1/me", token=token)
    sub = body["subscription"]
    assert body["has_access"] is True and sub["status"] == "active" and sub["active"] is True
    assert sub["plan"] == "Pro Signals" and sub["renews_at"] is not None


async def test_signals_are_403_without_access_and_listed_with_it(harness: Harness) -> None:
    await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    token = await _login(harness)
    status, body, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert (status, body["error"]["code"]) == (403, "no_access")
    await give_access(harness, 7102)
    token = await _login(harness, {"id": 7102, "first_name": "Ned"})
    status, body, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    (signal,) = body["signals"]
    assert signal["symbol"] == "BTCUSDT" and signal["entry_low"] == "65000"
    assert signal["take_profits"] == ["67000"] and signal["status"] == "open"


async def test_performance_is_open_to_every_user(harness: Harness) -> None:
    signal_id = await publish_signal(harness, "BTCUSDT long entry 100 sl 90 tp 120")
    await post_signal_update(harness, signal_id, "tp1")
    token = await _login(harness)
    status, body, _ = await call(harness, "GET", "/api/v1/performance", token=token)
    assert status == 200
    assert body["windows"][0] == {
        "window": "7d",
        "label": "7 days",
        "count": 1,
        "wins": 1,
        "win_rate": "100",
        "avg_r": "2",
        "total_r": "2",
    }
    assert body["equity"] == [
        {"id": signal_id, "closed_at": body["signals"][0]["closed_at"], "cumulative_r": "2"}
    ]
    stats = body["statistics"]  # bot/signals/statistics.py, one long signal at +2 R
    assert stats["overall"]["trades"] == 1 and stats["overall"]["win_rate"] == "100.0"
    assert stats["overall"]["profit_factor"] is None  # no loss to divide by
    assert list(stats["by"]["symbol"]) == ["BTCUSDT"] and list(stats["by"]["side"]) == ["long"]
    assert stats["portfolio"]["end"] == "10200.00" and stats["portfolio"]["risk"] == "0.01"


async def test_plans_checkout_and_portal(harness: Harness) -> None:
    token = await _login(harness)
    status, body, _ = await call(harness, "GET", "/api/v1/plans", token=token)
    assert [p["label"] for p in body["plans"]] == [
        "Pro Signals — $49.00 / month",
        "Pro Signals Yearly — $490.00 / year",
    ]
    status, body, _ = await call(
        harness,
        "POST",
        "/api/v1/billing/checkout",
        token=token,
        body={"price_id": "price_monthly_test"},
    )
    assert status == 200 and body["url"].startswith("https://checkout.stripe.com/")
    (request,) = harness.fake_stripe.requests_to("/v1/checkout/sessions", "POST")
    assert request.params["client_reference_id"] == str(USER["id"])
    status, body, _ = await call(
        harness, "POST", "/api/v1/billing/checkout", token=token, body={"price_id": "price_x"}
    )
    assert (status, body["error"]["code"]) == (400, "unknown_plan")
    status, body, _ = await call(harness, "POST", "/api/v1/billing/portal", token=token)
    assert (status, body["error"]["code"]) == (409, "no_customer")
    await give_access(harness, 7102)
    token = await _login(harness, {"id": 7102, "first_name": "Ned"})
    status, body, _ = await call(
        harness,
        "POST",
        "/api/v1/billing/checkout",
        token=token,
        body={"price_id": "price_monthly_test"},
    )
    assert (status, body["error"]["code"]) == (409, "already_subscribed")


async def test_billing_not_configured_is_503(make_harness: MakeHarness) -> None:
    harness = await make_harness(stripe_api_key=None, stripe_price_ids=[])
    token = await _login(harness)
    for method, path, body in (
        ("GET", "/api/v1/plans", None),
        ("POST", "/api/v1/billing/checkout", {"price_id": "price_monthly_test"}),
        ("POST", "/api/v1/billing/portal", None),
    ):
        status, payload, _ = await call(harness, method, path, token=token, body=body)
        assert (status, payload["error"]["code"]) == (503, "not_configured")


# --- admin endpoints -----------------------------------------------------------------------


async def test_admin_endpoints_are_403_for_subscribers(harness: Harness) -> None:
    token = await _login(harness)
    for method, path, body in (
        ("POST", "/api/v1/admin/signals/preview", {"text": "x"}),
        ("POST", "/api/v1/admin/signals", {"text": "x"}),
        ("GET", "/api/v1/admin/broadcasts/1", None),
        ("GET", "/api/v1/admin/stats", None),
        ("GET", "/api/v1/admin/analytics", None),
    ):
        status, payload, _ = await call(harness, method, path, token=token, body=body)
        assert (status, payload["error"]["code"]) == (403, "not_allowed")
    assert await count(harness, Signal) == 0


async def test_admin_preview_send_and_progress(harness: Harness) -> None:
    await give_access(harness, 7102, 7103)
    token = await _login(harness, {"id": ADMIN_ID, "first_name": "Boss"})
    line = "ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200"
    status, body, _ = await call(
        harness, "POST", "/api/v1/admin/signals/preview", token=token, body={"text": line}
    )
    assert status == 200 and body["recipients"] == 2
    assert body["canonical"] == f"/signal {line}"
    assert await count(harness, Signal) == 0  # a preview stores nothing

    status, body, _ = await call(
        harness,
        "POST",
        "/api/v1/admin/signals/preview",
        token=token,
        body={"text": "ETHUSDT short entry 3400 sl 3300 tp 3200"},
    )
    assert (status, body["error"]["code"], body["error"]["token"]) == (
        400,
        "invalid_signal",
        "3300",
    )

    status, body, _ = await call(
        harness, "POST", "/api/v1/admin/signals", token=token, body={"text": line}
    )
    assert status == 201 and body["total"] == 2
    broadcast_id = body["broadcast_id"]
    status, progress, _ = await call(
        harness, "GET", f"/api/v1/admin/broadcasts/{broadcast_id}", token=token
    )
    assert (progress["pending"], progress["done"]) == (2, False)
    await harness.deliver()
    status, progress, _ = await call(
        harness, "GET", f"/api/v1/admin/broadcasts/{broadcast_id}", token=token
    )
    assert (progress["sent"], progress["done"]) == (2, True)
    assert "<b>ETH/USDT</b> Short" in harness.last_reply(7102).text

    for bad, expected in (("abc", 400), ("99999", 404), ("1" * 12, 400)):
        status, body, _ = await call(
            harness, "GET", f"/api/v1/admin/broadcasts/{bad}", token=token
        )
        assert status == expected, bad

    status, body, _ = await call(harness, "GET", "/api/v1/admin/stats", token=token)
    assert body["with_access"] == 2 and body["mrr"] == [
        {"currency": "usd", "amount": 9800, "label": "$98.00"}
    ]


async def test_bad_admin_input_changes_nothing(harness: Harness) -> None:
    token = await _login(harness, {"id": ADMIN_ID, "first_name": "Boss"})
    before = await state(harness)
    for body in ({"text": ""}, {"text": 5}, {"text": "BTC sideways"}, {}):
        status, payload, _ = await call(
            harness, "POST", "/api/v1/admin/signals", token=token, body=body
        )
        assert status == 400 and payload["error"]["code"] in {"bad_request", "invalid_signal"}
    assert await state(harness) == before
    assert await count(harness, Signal) == 0
