"""Reconciliation with Stripe: the Stripe SDK pages through the fake's subscriptions over
real HTTP; each difference is applied through the webhooks' state machine and notices;
--dry-run changes nothing; a second run changes nothing."""

from __future__ import annotations

import time
from pathlib import Path

from bot.billing.reconcile import Report
from db.models import User
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe, make_subscription
from tests.support.harness import PRICE_MONTHLY, Harness
from tests.support.helpers import entitlement, outbox, state, subscription_event
from tests.support.processes import assert_no_token, assert_one_line, free_port, run_cli

ANN = 6_300_001
BOB = 6_300_002


def _subscription(sub_id: str, user_id: int | None, *, status: str = "active") -> dict:  # type: ignore[type-arg]
    return make_subscription(
        sub_id,
        customer=f"cus_{sub_id}",
        price_id=PRICE_MONTHLY,
        status=status,
        current_period_end=int(time.time()) + 20 * 86_400,
        metadata={"telegram_user_id": str(user_id)} if user_id else {},
    )


async def _reconcile(harness: Harness, *, dry_run: bool) -> Report:
    assert harness.parts.reconciler is not None
    return await harness.parts.reconciler.run(dry_run=dry_run)


async def test_a_lost_deletion_is_repaired_as_its_webhook_would_have(harness: Harness) -> None:
    live = _subscription("sub_lost_del", ANN)
    status, _ = await harness.post_event(
        subscription_event("created", live, created=int(time.time()) - 60)
    )
    assert status == 200
    await harness.deliver(wait=5)
    harness.fake_bot.clear()
    # Stripe cancelled it; the customer.subscription.deleted webhook never arrived.
    harness.fake_stripe.add_subscription({**live, "status": "canceled"})

    before = await state(harness)
    dry = await _reconcile(harness, dry_run=True)
    assert [d.line() for d in dry.changed] == [
        f"sub_lost_del (user {ANN}): active until "
        f"{(await entitlement(harness, ANN)).expires_at.date()} -> "  # type: ignore[union-attr]
        f"canceled until {(await entitlement(harness, ANN)).expires_at.date()}"  # type: ignore[union-attr]
    ]
    assert await state(harness) == before  # the dry run changed nothing
    assert (await entitlement(harness, ANN)).status == "active"  # type: ignore[union-attr]

    real = await _reconcile(harness, dry_run=False)
    assert len(real.changed) == 1
    assert (await entitlement(harness, ANN)).status == "canceled"  # type: ignore[union-attr]
    await harness.deliver(wait=5)
    [goodbye] = harness.replies(ANN)
    assert "has ended" in goodbye.text

    again = await _reconcile(harness, dry_run=False)
    assert again.changed == [] and again.seen == 1
    assert len(await outbox(harness, ANN)) == 2  # the welcome and the goodbye, no more


async def test_a_lost_checkout_is_repaired_for_a_user_never_seen(harness: Harness) -> None:
    harness.fake_stripe.add_subscription(_subscription("sub_lost_co", BOB))
    report = await _reconcile(harness, dry_run=False)
    assert [d.before for d in report.changed] == ["none"]
    row = await entitlement(harness, BOB)
    assert row is not None and row.status == "active" and row.source_ref == "sub_lost_co"
    async with harness.session() as session:
        assert await session.get(User, BOB) is not None
    await harness.deliver(wait=5)
    assert "is active" in harness.last_reply(BOB).text
    assert (await _reconcile(harness, dry_run=False)).changed == []


async def test_a_webhook_created_just_before_the_repair_still_applies_after_it(
    harness: Harness,
) -> None:
    live = _subscription("sub_race", BOB)
    harness.fake_stripe.add_subscription(live)
    assert len((await _reconcile(harness, dry_run=False)).changed) == 1
    # Stripe created the cancellation a moment before our run read the list (or Stripe's
    # clock is a little behind ours); its webhook arrives after the repair.
    ended = {**live, "status": "canceled"}
    created = int(time.time()) - 60
    status, body = await harness.post_event(subscription_event("deleted", ended, created=created))
    assert status == 200 and body["status"] == "applied"
    assert (await entitlement(harness, BOB)).status == "canceled"  # type: ignore[union-attr]


async def test_every_page_is_read_and_strangers_change_nothing(harness: Harness) -> None:
    for number in range(230):
        harness.fake_stripe.add_subscription(_subscription(f"sub_page_{number:03}", None))
    harness.fake_stripe.add_subscription(_subscription("sub_ann", ANN))
    before = await state(harness)
    report = await _reconcile(harness, dry_run=False)
    assert report.seen == 231
    assert report.unknown == 230
    assert [d.subscription_id for d in report.changed] == ["sub_ann"]
    assert harness.fake_stripe.list_pages_served == 3  # 100 + 100 + 31
    pages = harness.fake_stripe.requests_to("/v1/subscriptions", "GET")
    assert [p.params.get("limit") for p in pages] == ["100"] * 3
    assert "starting_after" not in pages[0].params and pages[1].params["starting_after"]
    after = await state(harness)
    assert after != before  # Ann's entitlement and notice, nothing for the strangers
    async with harness.session() as session:
        assert await session.get(User, 0) is None


async def test_the_fake_pages_as_stripe_does_and_refuses_a_bad_limit(
    fake_stripe: FakeStripe,
) -> None:
    import aiohttp

    async with aiohttp.ClientSession() as http:
        url = fake_stripe.base_url + "/v1/subscriptions"
        headers = {"Authorization": "Bearer sk_test_reconcile"}
        async with http.get(url, params={"limit": "101"}, headers=headers) as response:
            body = await response.json()
            assert response.status == 400 and body["error"]["param"] == "limit"
        async with http.get(url, params={"starting_after": "sub_x"}, headers=headers) as response:
            assert response.status == 400


async def test_the_command_needs_the_stripe_key_and_names_it(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    env = {k: v for k, v in migrated_env.items() if k != "STRIPE_API_KEY"}
    env["LOG_LEVEL"] = "WARNING"
    status, stderr = await run_cli(["reconcile", "--dry-run"], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, "STRIPE_API_KEY")
    assert_no_token(stderr)


async def test_the_command_runs_and_a_bad_flag_is_refused(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    status, stderr = await run_cli(["reconcile", "--dry-run"], migrated_env, tmp_path)
    assert status == 0, stderr
    assert "Traceback" not in stderr
    status, stderr = await run_cli(["reconcile", "--everything"], migrated_env, tmp_path)
    assert status == 2
    assert "unrecognized arguments: --everything" in stderr


# --- Stripe or Telegram not there (issue 24): one line, an exit status, no traceback ---------


async def test_stripe_unreachable_is_one_line_and_exit_3(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {**migrated_env, "STRIPE_API_BASE": nowhere, "LOG_LEVEL": "ERROR"}
    status, stderr = await run_cli(["reconcile", "--dry-run"], env, tmp_path)
    assert status == 3
    assert_one_line(
        stderr, f"reconcile: stopped: Stripe cannot be reached at {nowhere} (APIConnectionError)"
    )
    assert_no_token(stderr)


async def test_telegram_unreachable_for_stars_is_one_line_and_exit_3(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    nowhere = f"http://127.0.0.1:{free_port()}"
    env = {**migrated_env, "TELEGRAM_API_BASE": nowhere, "STARS_PRICE": "250"}
    status, stderr = await run_cli(["reconcile"], {**env, "LOG_LEVEL": "ERROR"}, tmp_path)
    assert status == 3
    assert_one_line(
        stderr,
        f"reconcile: stopped: Telegram cannot be reached at {nowhere} (TelegramNetworkError)",
    )
    assert_no_token(stderr)


async def test_a_stripe_key_refused_is_one_line_and_exit_2(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    _, fake_stripe = fakes
    fake_stripe.api_key = "sk_test_the_one_stripe_knows"
    env = {**migrated_env, "LOG_LEVEL": "ERROR"}
    status, stderr = await run_cli(["reconcile", "--dry-run"], env, tmp_path)
    assert status == 2
    assert_one_line(
        stderr,
        "reconcile: stopped: STRIPE_API_KEY: Stripe refused the key "
        "(Invalid API Key provided: sk_test_…)",
    )
    assert migrated_env["STRIPE_API_KEY"][-4:] not in stderr
