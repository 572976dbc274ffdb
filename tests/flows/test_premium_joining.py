# ruff: noqa: F811 - `premium` is a fixture imported from premium_helpers.py
"""Premium chats: the fake Bot API plays a supergroup with its administrators, members and
join requests; aiogram talks to it over real HTTP, on SQLite and PostgreSQL. Access start
(links), joining with one's own link and with someone else's, join requests with and
without access, restricted members, /join, an invite for each access period, strangers who
never started the bot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot.premium import rules
from db.models import Entitlement
from tests.flows.premium_helpers import (
    ANN,
    BOB,
    CHAT,
    NOW,
    _bans,
    _end_access,
    _kinds,
    _members,
    _status,
    premium,  # noqa: F401 - a fixture
)
from tests.support.harness import Harness, MakeHarness
from tests.support.helpers import give_access

# --- joining --------------------------------------------------------------------------------


async def test_access_start_sends_a_personal_join_request_link_once(premium: Harness) -> None:
    await give_access(premium, ANN)
    assert "premium-invites" in await premium.parts.scheduler.run_due()
    await premium.deliver()
    invite = premium.last_reply(ANN)
    assert "premium chats" in invite.text
    [[button]] = invite.params["reply_markup"]["inline_keyboard"]
    link = premium.fake_bot.chats.chats[CHAT].links[button["url"]]
    assert link["creates_join_request"] is True and link["name"] == f"user {ANN}"
    assert await premium.parts.premium.invites(NOW) == "0 sent their premium chat links"


async def test_a_join_request_is_approved_with_access_and_declined_without(
    premium: Harness,
) -> None:
    await give_access(premium, ANN)
    [link] = await premium.parts.premium.links(ANN, NOW)
    fake = premium.fake_bot.chats
    await premium.feed(fake.join_request(CHAT, ANN, link))
    assert ANN in fake.chats[CHAT].members
    await premium.feed(fake.joined(CHAT, ANN, link=link))
    assert await _status(premium, ANN) == "member"

    # Bob uses Ann's link: his request is declined, and he is told how to subscribe.
    await premium.send_text(BOB, "/help")
    await premium.feed(fake.join_request(CHAT, BOB, link))
    assert BOB not in fake.chats[CHAT].members
    assert [c["user_id"] for c in premium.fake_bot.calls_for("declineChatJoinRequest")] == [BOB]
    await premium.deliver(wait=2)  # a second after the reply to /help
    assert "declined: it is for subscribers" in premium.last_reply(BOB).text


async def test_someone_who_gets_in_without_access_does_not_stay(premium: Harness) -> None:
    await give_access(premium, ANN)
    [link] = await premium.parts.premium.links(ANN, NOW)
    fake = premium.fake_bot.chats
    await premium.send_text(BOB, "/help")
    await premium.feed(fake.joined(CHAT, BOB, link=link))  # added by hand, or a stale link
    assert BOB not in fake.chats[CHAT].members and BOB not in fake.chats[CHAT].banned
    [unban] = premium.fake_bot.calls_for("unbanChatMember")
    assert unban["only_if_banned"] is True  # so he can come back after paying
    assert await _status(premium, BOB) == "removed"
    assert "premium_removed" in await _kinds(premium, BOB)


async def test_restricted_users_are_members_only_while_is_member_is_true(
    premium: Harness,
) -> None:
    """Telegram's states: creator, administrator, member, and restricted with is_member
    true are in the chat; restricted with is_member false, left and kicked are not. Users
    restricted after they left are not recorded as members: no ban, no message."""
    fake = premium.fake_bot.chats
    gone = [7_500_000 + n for n in range(20)]
    for user_id in gone:
        await premium.feed(fake.restricted(CHAT, user_id, is_member=False))
    assert premium.fake_bot.calls_for("banChatMember") == []
    assert premium.fake_bot.calls_for("unbanChatMember") == []
    for user_id in gone:
        assert await _status(premium, user_id) == "left"
        assert await _kinds(premium, user_id) == []
    report = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert (report.checked, report.removed) == (0, [])
    # Restricted but still in the chat, without access: a member, so removed.
    await premium.feed(fake.restricted(CHAT, BOB, is_member=True))
    assert await _status(premium, BOB) == "removed" and _bans(premium, BOB) == 1
    # With access, restricted in the chat: a member who stays.
    await give_access(premium, ANN)
    await premium.feed(fake.restricted(CHAT, ANN, is_member=True))
    assert await _status(premium, ANN) == "member" and _bans(premium, ANN) == 0


def test_telegram_member_states_map_to_the_record() -> None:
    assert rules.recorded_status("creator") == "admin"
    assert rules.recorded_status("administrator") == "admin"
    assert rules.recorded_status("member") == "member"
    assert rules.recorded_status("restricted", is_member=True) == "member"
    assert rules.recorded_status("restricted", is_member=False) == "left"
    assert rules.recorded_status("left") == "left"
    assert rules.recorded_status("kicked") == "left"


# --- /join ----------------------------------------------------------------------------------


async def test_join_gives_fresh_links_to_subscribers_only(
    premium: Harness, make_harness: MakeHarness
) -> None:
    await give_access(premium, ANN)
    await premium.send_text(ANN, "/join")
    reply = premium.last_reply(ANN)
    assert reply.text.startswith("Your personal links to the premium chats")
    assert reply.params["reply_markup"]["inline_keyboard"][0][0]["url"].startswith(
        "https://t.me/+"
    )
    await premium.send_text(BOB, "/join")
    assert premium.last_reply(BOB).text.startswith("The premium chats are for subscribers.")
    plain = await make_harness()
    await plain.send_text(ANN, "/join")
    assert plain.last_reply(ANN).text == "This bot has no premium chats."


async def test_a_user_removed_and_back_gets_new_links(premium: Harness) -> None:
    await give_access(premium, BOB)
    await _members(premium, BOB)
    await _end_access(premium, BOB)
    await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    async with premium.session() as session, session.begin():
        row = await session.scalar(select(Entitlement).where(Entitlement.user_id == BOB))
        assert row is not None
        row.status, row.expires_at = "active", datetime.now(UTC) + timedelta(days=30)
    assert await premium.parts.premium.invites(NOW) == "1 sent their premium chat links"
    assert await premium.parts.premium.invites(NOW) == "0 sent their premium chat links"


async def _restore_access(harness: Harness, user_id: int) -> None:
    async with harness.session() as session, session.begin():
        row = await session.scalar(select(Entitlement).where(Entitlement.user_id == user_id))
        assert row is not None
        row.status, row.expires_at = "active", datetime.now(UTC) + timedelta(days=30)


async def test_each_access_period_gets_its_invite_even_if_the_last_was_never_used(
    premium: Harness,
) -> None:
    """One invite per access period: a user who never joined in the first period (so was
    never removed) still gets the second period's invite, once."""
    invites = premium.parts.premium.invites
    await give_access(premium, BOB)
    assert await invites(datetime.now(UTC)) == "1 sent their premium chat links"
    await _end_access(premium, BOB)
    assert await invites(datetime.now(UTC)) == "0 sent their premium chat links"
    await _restore_access(premium, BOB)
    assert await invites(datetime.now(UTC)) == "1 sent their premium chat links"
    assert await invites(datetime.now(UTC)) == "0 sent their premium chat links"
    assert (await _kinds(premium, BOB)).count("premium_invite") == 2


def test_the_bot_asks_telegram_for_member_and_join_request_updates(premium: Harness) -> None:
    wanted = set(premium.parts.dispatcher.resolve_used_update_types())
    assert {"chat_member", "chat_join_request", "pre_checkout_query", "message"} <= wanted


async def test_strangers_who_never_started_the_bot_are_handled(premium: Harness) -> None:
    """Someone the bot never saw in private (they reached the chat another way): a declined
    request or a removal still tells them once, and the audit goes on past them."""
    await give_access(premium, ANN)
    [link] = await premium.parts.premium.links(ANN, NOW)
    fake = premium.fake_bot.chats
    await premium.feed(fake.join_request(CHAT, 7_400_001, link))
    assert 7_400_001 not in fake.chats[CHAT].members
    await premium.feed(fake.joined(CHAT, 7_400_002))
    assert 7_400_002 not in fake.chats[CHAT].members
    assert await _kinds(premium, 7_400_001) == ["premium_declined"]
    assert await _kinds(premium, 7_400_002) == ["premium_removed"]
    again = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert again.removed == [] and _bans(premium, 7_400_002) == 1


async def test_a_join_request_answered_before_is_left_alone(premium: Harness) -> None:
    await give_access(premium, ANN)
    [link] = await premium.parts.premium.links(ANN, NOW)
    fake = premium.fake_bot.chats
    update = fake.join_request(CHAT, ANN, link)
    await premium.feed(update)
    fake.chats[CHAT].requests.discard(ANN)  # Telegram redelivers it, already approved
    await premium.feed({**update})
    assert len(premium.fake_bot.calls_for("approveChatJoinRequest")) == 2
    assert ANN in fake.chats[CHAT].members
