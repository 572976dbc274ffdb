"""The Mini App API: initData exchange (published vectors and our own), bearer auth, every
status code, subscriber and admin endpoints, the page's texts, security headers."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.texts import keys
from db.models import Signal, User
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, BOT_TOKEN, FIXTURES, Harness, MakeHarness
from tests.support.helpers import count, give_access, post_signal_update, publish_signal, state
from tests.support.initdata import sign_init_data
from webapp.miniapp_static import STATIC_DIR

USER: dict[str, Any] = {"id": 7101, "first_name": "Mia", "username": "mia"}
VECTORS = [
    v
    for v in json.loads((FIXTURES / "initdata/vectors.json").read_text())
    if v["scheme"] == "hmac"
]


async def _login(harness: Harness, user: dict[str, Any] = USER) -> str:
    return await login(harness, user)


# --- initData exchange ---------------------------------------------------------------------


@pytest.mark.parametrize("vector", VECTORS, ids=lambda v: v["notes"][:40])
async def test_published_vectors(make_harness: MakeHarness, vector: dict[str, Any]) -> None:
    # The vectors are years old: freshness is checked separately below.
    harness = await make_harness(bot_token=vector["bot_token"], initdata_max_age_seconds=10**10)
    status, body, _ = await call(
        harness,
        "POST",
        "/api/v1/miniapp/exchange-initdata",
        body={"init_data": vector["init_data"]},
    )
    if vector["expected_valid"]:
        assert status == 200 and body["token_type"] == "Bearer"
        assert await count(harness, User) == 1
    else:
        assert status == 401 and body["error"]["code"] == "invalid_init_data"
        assert await count(harness, User) == 0


async def test_exchange_creates_the_user_and_returns_a_token(harness: Harness) -> None:
    status, body, headers = await call(
        harness,
        "POST",
        "/api/v1/miniapp/exchange-initdata",
        body={"init_data": sign_init_data(BOT_TOKEN, USER)},
    )
    assert status == 200
    assert body["user"] == USER and body["is_admin"] is False and body["expires_in"] == 3600
    assert headers["Cache-Control"] == "no-store"
    async with harness.session() as session:
        assert await session.get(User, USER["id"]) is not None


def _tampered() -> str:
    signed = sign_init_data(BOT_TOKEN, USER)
    return signed.replace("Mia", "Eve")


@pytest.mark.parametrize(
    ("init_data", "code"),
    [
        (_tampered, "invalid_init_data"),
        (
            lambda: sign_init_data(BOT_TOKEN, USER, auth_date=int(time.time()) - 90_000),
            "stale_init_data",
        ),
        (
            lambda: sign_init_data(BOT_TOKEN, USER, auth_date=int(time.time()) + 3600),
            "stale_init_data",
        ),
        (lambda: sign_init_data("999:another-bots-token", USER), "invalid_init_data"),
        (lambda: sign_init_data(BOT_TOKEN, USER).split("&hash=")[0], "invalid_init_data"),
        (lambda: "user=%7B%7D&auth_date=1&hash=abc", "invalid_init_data"),
        (lambda: "%%%not a query string", "invalid_init_data"),
    ],
    ids=["tampered", "stale", "future", "other-bot", "hash-less", "forged", "garbage"],
)
async def test_bad_init_data_is_401_and_creates_nothing(
    harness: Harness, init_data: Any, code: str
) -> None:
    before = await state(harness)
    status, body, _ = await call(
        harness, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": init_data()}
    )
    assert (status, body["error"]["code"]) == (401, code)
    assert await state(harness) == before


@pytest.mark.parametrize("raw", [b"not json", b"[]", b'{"init_data": 5}', b'{"init_data": []}'])
async def test_malformed_exchange_is_400(harness: Harness, raw: bytes) -> None:
    before = await state(harness)
    status, body, _ = await call(harness, "POST", "/api/v1/miniapp/exchange-initdata", raw=raw)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    assert await state(harness) == before


@pytest.mark.parametrize("raw", [b"{}", b'{"init_data": ""}', b'{"init_data": null}', b""])
async def test_missing_init_data_is_a_missing_credential_401(harness: Harness, raw: bytes) -> None:
    before = await state(harness)
    status, body, _ = await call(harness, "POST", "/api/v1/miniapp/exchange-initdata", raw=raw)
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert await state(harness) == before


async def test_exchange_is_rate_limited_per_client(harness: Harness) -> None:
    statuses = []
    for _ in range(12):
        status, _, headers = await call(
            harness, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": "x=1"}
        )
        statuses.append(status)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]
    assert int(headers["Retry-After"]) >= 1


async def test_instances_share_one_exchange_budget_per_client(
    make_harness: MakeHarness,
) -> None:
    """On PostgreSQL the budget is a row every instance takes from: ten tries at one
    instance leave none at the other, for the same client address."""
    first = await make_harness()
    if not first.settings.database_url.startswith("postgresql"):
        pytest.skip("one process on SQLite: its budget is in memory")
    second = await make_harness()
    for _ in range(10):
        status, _, _ = await call(
            first, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": "x=1"}
        )
        assert status == 401
    status, body, headers = await call(
        second, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": "x=1"}
    )
    assert (status, body["error"]["code"]) == (429, "too_many_requests")
    assert int(headers["Retry-After"]) == 6


# --- bearer auth ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [None, "garbage", "a.b", "eyJ1IjogMSwgImUiOiAxfQ.forged"],
    ids=["missing", "garbage", "bad-signature", "forged"],
)
async def test_api_needs_a_valid_bearer_token(harness: Harness, token: str | None) -> None:
    for path in ("/api/v1/me", "/api/v1/signals", "/api/v1/performance", "/api/v1/plans"):
        status, body, _ = await call(harness, "GET", path, token=token)
        assert (status, body["error"]["code"]) == (401, "unauthorized")


async def test_expired_token_is_401(harness: Harness) -> None:
    from webapp.miniapp_auth import TokenSigner

    # Same key and format as the server's, issued two hours ago with a one-hour life.
    old = TokenSigner(BOT_TOKEN, ttl=3600, clock=lambda: time.time() - 7200)
    status, _, _ = await call(harness, "GET", "/api/v1/me", token=old.issue(USER["id"]))
    assert status == 401


async def test_token_of_another_bot_is_401(harness: Harness) -> None:
    from webapp.miniapp_auth import TokenSigner

    foreign = TokenSigner("555:someone-else").issue(USER["id"])
    status, _, _ = await call(harness, "GET", "/api/v1/me", token=foreign)
    assert status == 401


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
    ):
        status, payload, _ = await call(harness, method, path, token=token, body=body)
        assert (status, payload["error"]["code"]) == (403, "not_admin")
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
    assert "SHORT ETHUSDT" in harness.last_reply(7102).text

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


# --- the page and its headers --------------------------------------------------------------


async def test_app_page_has_security_headers(harness: Harness) -> None:
    async with harness.http.get(harness.base_url + "/app/") as response:
        assert response.status == 200
        html = await response.text()
        csp = response.headers["Content-Security-Policy"]
    assert "telegram-web-app.js" in html
    assert "default-src 'self'" in csp and "script-src 'self' https://telegram.org" in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    async with harness.http.get(harness.base_url + "/app", allow_redirects=False) as response:
        assert response.status == 308 and response.headers["Location"] == "/app/"
    async with harness.http.get(harness.base_url + "/app/../db/models.py") as response:
        assert response.status == 404


# --- the page's texts ----------------------------------------------------------------------


async def test_texts_are_public_cached_and_unfilled(harness: Harness) -> None:
    status, body, headers = await call(harness, "GET", "/api/v1/texts")  # no token
    assert status == 200
    assert headers["Content-Type"] == "application/json; charset=utf-8"
    # Set by the route, not overridden by the API's no-store: the same for everyone.
    assert headers["Cache-Control"] == "public, max-age=300"
    assert body["locale"] == "en"
    texts = body["texts"]
    assert set(texts) == {key for key in keys() if key.startswith("app.")}
    for key, text in texts.items():
        if isinstance(text, dict):  # a plural text
            assert set(text) == {"one", "other"}, key
            assert all(isinstance(form, str) and form for form in text.values()), key
        else:
            assert isinstance(text, str) and text, key
    assert texts["app.tab.subscription"] == "Subscription"
    assert texts["app.tab.signals"] == "Signals"
    assert texts["app.tab.performance"] == "Track record"
    assert texts["app.tab.compose"] == "Post"
    assert texts["app.tab.stats"] == "Stats"
    # Placeholders are the front end's to fill.
    assert (
        texts["app.error.server"] == "The server had a problem (HTTP {status}). Please try again."
    )
    assert texts["app.compose.send_to"] == {
        "one": "Send to {count} subscriber",
        "other": "Send to {count} subscribers",
    }


async def test_the_app_modules_are_served_as_javascript(harness: Harness) -> None:
    """Browsers refuse a module script without a JavaScript MIME type."""
    modules = sorted(path.relative_to(STATIC_DIR).as_posix() for path in STATIC_DIR.rglob("*.js"))
    assert "js/main.js" in modules and "js/screens/signals.js" in modules
    assert "app.js" not in modules
    for name in modules:
        async with harness.http.get(f"{harness.base_url}/app/{name}") as response:
            assert response.status == 200, name
            assert response.content_type in ("text/javascript", "application/javascript"), name
    async with harness.http.get(harness.base_url + "/app/") as response:
        html = await response.text()
    assert '<script type="module" src="/app/js/main.js"></script>' in html
    assert html.index("telegram-web-app.js") < html.index("/app/js/main.js")


# --- the feed caches never serve what the database no longer says -------------------------


async def test_feed_cache_sees_a_new_signal_at_once(harness: Harness) -> None:
    await give_access(harness, 7102)
    token = await _login(harness, {"id": 7102, "first_name": "Ned"})
    await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    _, first, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    _, again, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert first == again and len(first["signals"]) == 1
    await publish_signal(harness, "ETHUSDT short entry 3400 sl 3500 tp 3300")
    _, after, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert [s["symbol"] for s in after["signals"]] == ["ETHUSDT", "BTCUSDT"]


async def test_access_cache_sees_a_cancellation_at_once(harness: Harness) -> None:
    from tests.support.helpers import subscription_event, subscription_for

    now = int(time.time())
    sub = subscription_for(7102)
    await harness.post_event(subscription_event("created", sub, created=now))
    token = await _login(harness, {"id": 7102, "first_name": "Ned"})
    status, _, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert status == 200
    await harness.post_event(
        subscription_event("deleted", {**sub, "status": "canceled"}, created=now + 1)
    )
    status, body, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert (status, body["error"]["code"]) == (403, "no_access")


async def test_access_cache_sees_an_admin_grant_and_revoke_at_once(harness: Harness) -> None:
    """Every source writes through bot/accounts/entitlement_writes.py, which marks the change: the
    cached "no access" of a moment ago does not outlive a /grant, nor access a /revoke."""
    token = await _login(harness, {"id": 7102, "first_name": "Ned"})
    status, _, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert status == 403
    await harness.send_text(ADMIN_ID, "/grant 7102 7")
    status, _, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert status == 200
    await harness.send_text(ADMIN_ID, "/revoke 7102 testing the cache")
    status, body, _ = await call(harness, "GET", "/api/v1/signals", token=token)
    assert (status, body["error"]["code"]) == (403, "no_access")


async def test_a_rolled_back_change_does_not_count(harness: Harness) -> None:
    from bot.transactions import commit_events

    before = commit_events.version(commit_events.FEED)
    async with harness.session() as session:
        await session.begin()
        commit_events.mark(session, commit_events.FEED)
        await session.rollback()
    assert commit_events.version(commit_events.FEED) == before
    async with harness.session() as session, session.begin():
        commit_events.mark(session, commit_events.FEED)
    assert commit_events.version(commit_events.FEED) == before + 1
