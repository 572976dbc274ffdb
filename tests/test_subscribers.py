"""/revoke and /user: an admin takes free access back (the user is told why) and reads one
subscriber's timeline; every bad argument gets a reply naming it and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.access import has_access
from db.models import Entitlement, EntitlementSource, User
from tests.conftest import ADMIN_ID, Harness
from tests.helpers import give_access, state

ANN = 6_400_001


async def _grant(harness: Harness, user_id: int = ANN) -> None:
    await harness.send_text(ADMIN_ID, f"/grant {user_id} 30")
    await harness.deliver(wait=5)


async def _registered(harness: Harness, *user_ids: int) -> None:
    """Each has written to the bot once (a first message registers its sender)."""
    for user_id in user_ids:
        await harness.send_text(user_id, "/help")


async def test_revoke_ends_a_grant_now_and_tells_the_user_why(harness: Harness) -> None:
    await _grant(harness)
    await harness.send_text(
        ADMIN_ID, "/revoke 6400001 shared the signals   in a public <b>group</b>"
    )
    assert "grant revoked" in harness.last_reply(ADMIN_ID).text
    async with harness.session() as session:
        assert not await has_access(session, ANN, datetime.now(UTC))
    await harness.deliver(wait=5)
    told = harness.last_reply(ANN).text
    assert "withdrawn: shared the signals in a public &lt;b&gt;group&lt;/b&gt;" in told


async def test_revoke_leaves_stripe_to_stripe_and_says_so(harness: Harness) -> None:
    await give_access(harness, ANN)
    await _registered(harness, ADMIN_ID)
    before = await state(harness)
    await harness.send_text(ADMIN_ID, "/revoke 6400001 abuse")
    assert "pays through Stripe" in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("", "Usage: <code>/revoke USER_ID REASON</code>"),
        ("6400001", "Usage: <code>/revoke USER_ID REASON</code>"),
        ("² abuse", "<code>²</code> is not a Telegram user id"),
        ("0 abuse", "<code>0</code> is not a Telegram user id"),
        ("123456789012345678901 abuse", "is not a Telegram user id"),
        ("6400001 " + "x" * 301, "keep it to 300 characters"),
        ("6400002 abuse", "User 6400002 has no access to revoke."),
    ],
)
async def test_bad_revoke_arguments_are_named_and_change_nothing(
    harness: Harness, args: str, reply: str
) -> None:
    await _grant(harness)
    await _registered(harness, ANN)
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/revoke {args}".strip())
    assert reply in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before
    async with harness.session() as session:
        assert await has_access(session, ANN, datetime.now(UTC))


async def test_revoke_and_user_are_for_admins_only(harness: Harness) -> None:
    await _grant(harness)
    await _registered(harness, ANN)
    before = await state(harness)
    await harness.send_text(ANN, "/revoke 6400001 abuse")
    await harness.send_text(ANN, "/user 6400001")
    assert await state(harness) == before
    assert all("User 6400001" not in m.text for m in harness.replies(ANN))


async def test_user_shows_access_sources_and_the_latest_messages(harness: Harness) -> None:
    await _grant(harness)
    async with harness.session() as session, session.begin():
        session.add(
            Entitlement(
                user_id=ANN,
                source=EntitlementSource.TRIAL,
                status="canceled",
                expires_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
    harness.fake_bot.fail_next("sendMessage", "403", chat_id=ANN)
    await harness.send_text(ADMIN_ID, "/broadcast hello")
    await harness.deliver(wait=5)
    await harness.send_text(ADMIN_ID, "/user 6400001")
    text = harness.last_reply(ADMIN_ID).text
    assert "<b>User 6400001</b>" in text
    assert "Premium: on" in text
    assert "• grant: " in text and "admin:900001" in text
    assert "• trial: " in text
    assert "broadcast: blocked — 403 Forbidden: bot was blocked by the user" in text
    assert "Blocked the bot on" in text
    assert "grant: sent" in text
    assert len(text) <= 4096


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("", "Usage: <code>/user USER_ID</code>"),
        ("1 2", "Usage: <code>/user USER_ID</code>"),
        ("abc", "<code>abc</code> is not a Telegram user id"),
        ("6400009", "User 6400009 has never used this bot."),
    ],
)
async def test_bad_user_arguments_are_named(harness: Harness, args: str, reply: str) -> None:
    await _registered(harness, ADMIN_ID)
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/user {args}".strip())
    assert reply in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before
    async with harness.session() as session:
        assert await session.get(User, 6_400_009) is None
