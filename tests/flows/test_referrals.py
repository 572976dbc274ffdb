"""Referrals: `/referral` gives a deep link; someone who starts the bot through it and then
pays for the first time (Stripe or Stars) earns the referrer REFERRAL_BONUS_DAYS of access,
once, told in chat. Abuse: oneself, a second referrer, a trial or a grant (unpaid), a
second payment, someone who had paid before, a cycle closed by two referrals at once."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, text

from bot.accounts import referrals
from bot.accounts.access import has_access
from db.models import Entitlement, EntitlementSource, Referral, User
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access, subscription_event, subscription_for
from tests.support.stars_player import invoice_link, pay

RITA = 7_200_001  # the referrer
FRED = 7_200_002  # her friend
GUS = 7_200_003
DAYS = 14


@pytest.fixture
async def refs(make_harness: MakeHarness) -> Harness:
    harness = await make_harness(referral_bonus_days=DAYS, stars_price=250)
    await harness.send_text(RITA, "/help", first_name="Rita")
    return harness


async def _bonus(harness: Harness, user_id: int) -> Entitlement | None:
    async with harness.session() as session:
        return await session.scalar(
            select(Entitlement).where(
                Entitlement.user_id == user_id, Entitlement.source == EntitlementSource.REFERRAL
            )
        )


async def _referrer_of(harness: Harness, user_id: int) -> int | None:
    async with harness.session() as session:
        row = await session.get(Referral, user_id)
        return row.referrer_id if row is not None else None


async def _stripe_pays(harness: Harness, user_id: int, status: str = "active") -> None:
    sub = subscription_for(user_id, sub_id=f"sub_{user_id}", customer=f"cus_{user_id}")
    sub["status"] = status
    code, _ = await harness.post_event(
        subscription_event("created", sub, created=int(time.time()))
    )
    assert code == 200


async def test_referral_gives_a_deep_link(refs: Harness) -> None:
    await refs.send_text(RITA, "/referral")
    text = refs.last_reply(RITA).text
    assert f"https://t.me/signaldesk_test_bot?start=ref_{RITA}" in text
    assert "you get 14 days of premium signals" in text
    assert "Friends who came through your link: 0, of whom paid: 0." in text


async def test_a_friends_first_payment_earns_the_bonus_once(refs: Harness) -> None:
    await refs.send_text(FRED, f"/start ref_{RITA}")
    assert "Welcome" in refs.last_reply(FRED).text
    assert await _referrer_of(refs, FRED) == RITA
    await _stripe_pays(refs, FRED)
    bonus = await _bonus(refs, RITA)
    assert bonus is not None and bonus.status == "active" and bonus.expires_at is not None
    assert (bonus.expires_at - datetime.now(UTC)).days == DAYS - 1
    async with refs.session() as session:
        assert await has_access(session, RITA, datetime.now(UTC))
    await refs.deliver(wait=5)  # each notice to one chat a second after the last
    assert "A friend you invited has subscribed: you get 14 days" in refs.last_reply(RITA).text
    ends = bonus.expires_at
    # A renewal, a second subscription event: no second bonus.
    sub = subscription_for(FRED, sub_id=f"sub_{FRED}", customer=f"cus_{FRED}")
    await refs.post_event(subscription_event("updated", sub, created=int(time.time()) + 5))
    bonus = await _bonus(refs, RITA)
    assert bonus is not None and bonus.expires_at == ends
    await refs.send_text(RITA, "/referral")
    assert "Friends who came through your link: 1, of whom paid: 1." in refs.last_reply(RITA).text


async def test_a_stars_payment_counts_as_a_first_payment(refs: Harness) -> None:
    await refs.send_text(FRED, f"/start ref_{RITA}")
    assert await pay(refs, FRED, await invoice_link(refs, FRED)) is not None
    assert await _bonus(refs, RITA) is not None


async def test_a_refunded_payment_takes_the_bonus_back(refs: Harness) -> None:
    await refs.send_text(FRED, f"/start ref_{RITA}")
    assert await pay(refs, FRED, await invoice_link(refs, FRED)) is not None
    bonus = await _bonus(refs, RITA)
    assert bonus is not None and bonus.expires_at is not None
    given_until = bonus.expires_at
    await refs.send_text(ADMIN_ID, f"/refund {FRED} asked for the money back")
    assert refs.last_reply(ADMIN_ID).text.startswith(f"Refunded 250 ⭐ to user {FRED}")
    bonus = await _bonus(refs, RITA)
    assert bonus is not None and bonus.expires_at == given_until - timedelta(days=DAYS)
    async with refs.session() as session:
        assert not await has_access(session, RITA, datetime.now(UTC))
        referral = await session.get(Referral, FRED)
        assert referral is not None and referral.rewarded_at is None  # a later payment earns it
    await refs.deliver(wait=10)
    assert "so the 14 days of premium signals you got for it are taken back" in (
        refs.last_reply(RITA).text
    )


async def test_a_referral_cycle_pays_nobody_twice(refs: Harness) -> None:
    await refs.send_text(FRED, f"/start ref_{RITA}")  # Rita brings Fred
    await refs.send_text(RITA, f"/start ref_{FRED}")  # ...and Fred tries to bring Rita
    assert await _referrer_of(refs, RITA) is None
    await refs.send_text(GUS, f"/start ref_{FRED}")  # Fred brings Gus
    await refs.send_text(RITA, f"/start ref_{GUS}")  # a longer cycle: refused as well
    assert await _referrer_of(refs, RITA) is None
    await _stripe_pays(refs, RITA)
    await _stripe_pays(refs, FRED)
    assert await _bonus(refs, FRED) is None  # Fred brought nobody who paid
    assert await _bonus(refs, RITA) is not None  # Rita brought Fred, who paid: once


async def _lock_waits(harness: Harness) -> int:
    async with harness.session() as session:
        query = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
        return int(await session.scalar(text(query)) or 0)


async def _at_once(harness: Harness, first: tuple[int, int], second: tuple[int, int]) -> None:
    """Two referrals (referred, referrer) in two transactions at once: the second is checked
    while the first is written but not committed (or waits for it)."""
    one, two = harness.session(), harness.session()
    async with one, two:
        await one.begin()
        await two.begin()
        assert await referrals.record(one, *first)
        racing = asyncio.create_task(referrals.record(two, *second))
        while not await _lock_waits(harness):  # until it waits for the first, or is done
            done, _ = await asyncio.wait({racing}, timeout=0.01)
            if done:
                break
        await one.commit()
        await racing
        await two.commit()


async def test_two_referrals_at_once_close_no_cycle(refs: Harness) -> None:
    """PostgreSQL, several instances: Fred through Rita's link and Rita through Fred's at
    the same moment, or the two missing links of a longer chain; one is written."""
    if refs.settings.database_url.startswith("sqlite"):
        pytest.skip("one writer on SQLite takes them one after the other")
    ann, bob, cid, dan = (7_200_101 + n for n in range(4))
    async with refs.session() as session, session.begin():
        session.add(User(id=FRED, first_name="Fred"))
        session.add_all([User(id=u, first_name=f"U{u}") for u in (ann, bob, cid, dan)])
        await session.flush()
        # ann came through bob, cid through dan: bob through cid and dan through ann
        # would close ann -> bob -> cid -> dan -> ann
        session.add(Referral(referred_id=ann, referrer_id=bob))
        session.add(Referral(referred_id=cid, referrer_id=dan))
    await _at_once(refs, (FRED, RITA), (RITA, FRED))
    await _at_once(refs, (bob, cid), (dan, ann))
    async with refs.session() as session:
        assert await _referrer_of(refs, FRED) == RITA and await _referrer_of(refs, RITA) is None
        assert await _referrer_of(refs, bob) == cid and await _referrer_of(refs, dan) is None
        assert await session.scalar(select(func.count()).select_from(Referral)) == 4  # noqa: PLR2004


async def test_a_trial_or_a_grant_earns_nothing(refs: Harness) -> None:
    await refs.send_text(FRED, f"/start ref_{RITA}")
    await _stripe_pays(refs, FRED, status="trialing")
    await refs.send_text(GUS, f"/start ref_{RITA}")
    await refs.send_text(ADMIN_ID, f"/grant {GUS} 30")
    assert await _bonus(refs, RITA) is None
    # The trial converts: that is the first payment.
    sub = subscription_for(FRED, sub_id=f"sub_{FRED}", customer=f"cus_{FRED}")
    await refs.post_event(subscription_event("updated", sub, created=int(time.time()) + 5))
    assert await _bonus(refs, RITA) is not None


@pytest.mark.parametrize("case", ["self", "second_referrer", "paid_before", "unknown", "junk"])
async def test_referral_abuse_records_nothing(refs: Harness, case: str) -> None:
    await refs.send_text(GUS, "/help")
    if case == "self":
        await refs.send_text(RITA, f"/start ref_{RITA}")
        assert await _referrer_of(refs, RITA) is None
        return
    if case == "second_referrer":
        await refs.send_text(FRED, f"/start ref_{GUS}")
        await refs.send_text(FRED, f"/start ref_{RITA}")
        assert await _referrer_of(refs, FRED) == GUS  # the first one stays
        return
    if case == "paid_before":
        await give_access(refs, FRED)
        await refs.send_text(FRED, f"/start ref_{RITA}")
    elif case == "unknown":
        await refs.send_text(FRED, "/start ref_7299999")  # nobody of that id started the bot
    else:
        await refs.send_text(FRED, "/start ref_²³")
    assert await _referrer_of(refs, FRED) is None


async def test_without_the_setting_there_is_no_programme(harness: Harness) -> None:
    await harness.send_text(RITA, "/referral")
    assert harness.last_reply(RITA).text == "There is no referral programme on this bot."
    await harness.send_text(FRED, f"/start ref_{RITA}")
    await _stripe_pays(harness, FRED)
    assert await _bonus(harness, RITA) is None


async def test_stats_show_referrals(refs: Harness) -> None:
    await refs.send_text(FRED, f"/start ref_{RITA}")
    await refs.send_text(GUS, f"/start ref_{RITA}")
    await _stripe_pays(refs, FRED)
    await refs.send_text(ADMIN_ID, "/stats")
    assert "Referrals: 2, of which paid (bonus given): 1" in refs.last_reply(ADMIN_ID).text


async def test_coming_back_after_cancelling_earns_no_second_bonus(refs: Harness) -> None:
    await refs.send_text(FRED, f"/start ref_{RITA}")
    await _stripe_pays(refs, FRED)
    first = await _bonus(refs, RITA)
    assert first is not None
    ends = first.expires_at
    gone = subscription_for(FRED, sub_id=f"sub_{FRED}", customer=f"cus_{FRED}", status="canceled")
    await refs.post_event(subscription_event("deleted", gone, created=int(time.time()) + 5))
    again = subscription_for(FRED, sub_id=f"sub_{FRED}_2", customer=f"cus_{FRED}")
    await refs.post_event(subscription_event("created", again, created=int(time.time()) + 10))
    bonus = await _bonus(refs, RITA)
    assert bonus is not None and bonus.expires_at == ends
