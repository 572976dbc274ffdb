"""The Mini App API's caches never serve what the database no longer says: a new signal, a
cancellation, an admin's grant and revoke are seen at once; a rolled-back change does not
count."""

from __future__ import annotations

import time

from tests.flows.miniapp_helpers import _login
from tests.support.api_client import call
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access, publish_signal


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
