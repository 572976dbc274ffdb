"""Premium chats: the fake Bot API plays a supergroup with its administrators, members and
join requests; aiogram talks to it over real HTTP, on SQLite and PostgreSQL. Access start
(links), joining with one's own link and with someone else's, join requests with and
without access, removal when access ends, admins and allow-listed users kept, a bot
lacking rights, the audit dry and real, and a fault in the middle of removals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.cli.reconcile import run_audit
from bot.core.settings import SettingsError, load_settings
from bot.premium import rules
from db.models import Entitlement, OutboxMessage, PremiumMember
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.chats import ADMIN_RIGHTS, NO_RIGHTS
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.harness import ADMIN_ID, BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import give_access
from tests.support.processes import assert_no_token, assert_one_line, free_port, run_cli

CHAT = -1_001_234_567_890
ANN = 6_900_001  # a subscriber
BOB = 6_900_002  # not one
CAT = 6_900_003  # on the allow-list
NOW = datetime.now(UTC)


@pytest.fixture
async def premium(make_harness: MakeHarness) -> Harness:
    harness = await make_harness(premium_chat_ids=[CHAT], premium_chat_allowlist=[CAT])
    harness.fake_bot.chats.bot_id = harness.settings.bot_id
    harness.fake_bot.chats.add_chat(CHAT, bot_rights=ADMIN_RIGHTS)
    return harness


async def _status(harness: Harness, user_id: int) -> str | None:
    async with harness.session() as session:
        row = await session.get(PremiumMember, (CHAT, user_id))
        return row.status if row is not None else None


async def _kinds(harness: Harness, user_id: int) -> list[str]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.chat_id == user_id)
        )
        return list(rows)


async def _end_access(harness: Harness, user_id: int) -> None:
    async with harness.session() as session, session.begin():
        row = await session.scalar(select(Entitlement).where(Entitlement.user_id == user_id))
        assert row is not None
        row.status, row.expires_at = "canceled", datetime.now(UTC) - timedelta(days=1)


def _bans(harness: Harness, user_id: int) -> int:
    return sum(1 for c in harness.fake_bot.calls_for("banChatMember") if c["user_id"] == user_id)


# --- the rules and the settings -------------------------------------------------------------


def test_the_rights_the_bot_needs_and_who_must_leave() -> None:
    full = {"status": "administrator", "can_invite_users": True, "can_restrict_members": True}
    assert rules.missing_rights(full) == []
    assert rules.missing_rights({"status": "creator"}) == []
    assert rules.missing_rights({**full, "can_restrict_members": False}) == [
        "can_restrict_members"
    ]
    assert rules.missing_rights({"status": "member"}) == ["administrator"]
    assert rules.recorded_status("creator") == "admin"
    assert rules.recorded_status("restricted", is_member=True) == "member"
    assert rules.recorded_status("kicked") == "left"
    assert rules.must_leave(status="member", has_access=False, allowlisted=False)
    assert not rules.must_leave(status="member", has_access=True, allowlisted=False)
    assert not rules.must_leave(status="member", has_access=False, allowlisted=True)
    assert not rules.must_leave(status="admin", has_access=False, allowlisted=False)


@pytest.mark.parametrize("value", ["123", "-abc", "-1001,x", "-" + "9" * 17, "-1001"])
def test_bad_premium_chat_ids_stop_start_up_naming_the_setting(value: str) -> None:
    with pytest.raises(SettingsError, match="^PREMIUM_CHAT_IDS: "):
        load_settings(_env_file=None, bot_token=BOT_TOKEN, premium_chat_ids=value)


# --- the bot's rights -----------------------------------------------------------------------


async def test_missing_rights_are_one_line_per_chat_and_readyz_says_so(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    chats = [one, two, three, four] = [CHAT - n for n in range(1, 5)]
    harness = await make_harness(premium_chat_ids=chats)
    fake = harness.fake_bot.chats
    fake.bot_id = harness.settings.bot_id
    fake.add_chat(one, bot_rights=ADMIN_RIGHTS)
    fake.add_chat(two, bot_rights={"can_invite_users": True})
    fake.add_chat(three, bot_rights=None)  # the bot is not an administrator there
    problems = await harness.parts.premium.check_rights()  # four: no such chat
    assert problems == {
        two: "missing: can_restrict_members",
        three: "missing: administrator",
        four: "missing: chat unreachable (TelegramBadRequest)",
    }
    assert len([r for r in caplog.records if "premium chat" in r.getMessage()]) == 3
    async with harness.http.get(harness.base_url + "/readyz") as response:
        body = await response.json()
    assert response.status == 200 and body["status"] == "ready"
    assert body["premium_chats"][str(three)] == "missing: administrator"


async def test_a_chat_member_answer_the_library_cannot_parse_is_a_log_line_not_a_stop(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture
) -> None:
    """run() checks the rights before anything starts: an exception there ended the process."""
    one, two = CHAT - 1, CHAT - 2
    harness = await make_harness(premium_chat_ids=[one, two])
    fake = harness.fake_bot.chats
    fake.bot_id = harness.settings.bot_id
    fake.add_chat(one, bot_rights=ADMIN_RIGHTS).new_status = "guardian"
    fake.add_chat(two, bot_rights=ADMIN_RIGHTS)
    problems = await harness.parts.premium.check_rights()
    assert problems == {
        one: "missing: rights unknown, Telegram's answer not understood (ClientDecodeError)"
    }
    [line] = [r for r in caplog.records if "premium chat" in r.getMessage()]
    assert line.levelname == "WARNING" and not line.exc_text
    async with harness.http.get(harness.base_url + "/readyz") as response:
        body = await response.json()
    assert body["premium_chats"][str(one)] == problems[one]


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


# --- removal and the audit --------------------------------------------------------------------


async def _members(harness: Harness, *user_ids: int) -> None:
    fake = harness.fake_bot.chats
    for user_id in user_ids:
        await harness.feed(fake.joined(CHAT, user_id))


async def test_the_audit_removes_those_whose_access_ended_once_and_keeps_the_rest(
    premium: Harness,
) -> None:
    await give_access(premium, ANN, BOB, CAT, ADMIN_ID)
    await _members(premium, ANN, BOB, CAT, ADMIN_ID)
    for user_id in (BOB, CAT, ADMIN_ID):  # all three lose access
        await _end_access(premium, user_id)
    report = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert (report.checked, report.removed, report.failed) == (4, [(CHAT, BOB)], 0)
    members = premium.fake_bot.chats.chats[CHAT].members
    assert {ANN, CAT, ADMIN_ID} <= members and BOB not in members
    again = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert again.removed == [] and _bans(premium, BOB) == 1
    await premium.deliver()
    assert "removed from the premium chats" in premium.last_reply(BOB).text


async def test_chat_administrators_are_never_removed(premium: Harness) -> None:
    fake = premium.fake_bot.chats
    update = fake.joined(CHAT, BOB)
    update["chat_member"]["new_chat_member"] = {
        **NO_RIGHTS,
        "status": "administrator",
        "user": update["chat_member"]["new_chat_member"]["user"],
    }
    await premium.feed(update)
    assert await _status(premium, BOB) == "admin"
    report = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert report.checked == 0 and premium.fake_bot.calls_for("banChatMember") == []


async def test_a_fault_in_the_middle_of_removals_loses_no_one_and_removes_no_one_twice(
    premium: Harness,
) -> None:
    users = [7_100_001, 7_100_002, 7_100_003]
    await give_access(premium, *users)
    await _members(premium, *users)
    for user_id in users:
        await _end_access(premium, user_id)
    premium.fake_bot.fail_next("banChatMember", "500", chat_id=CHAT)  # the first one fails
    report = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert (len(report.removed), report.failed) == (2, 1)
    # The process restarts; the next audit removes the one left, and only that one.
    again = await premium.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert again.removed == [(CHAT, users[0])]
    assert [_bans(premium, u) for u in users] == [2, 1, 1]  # the failed try, then once each
    assert not premium.fake_bot.chats.chats[CHAT].members & set(users)
    await premium.deliver()
    for user_id in users:
        assert (await _kinds(premium, user_id)).count("premium_removed") == 1


async def test_a_bot_without_the_right_to_remove_fails_each_removal_and_goes_on(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(premium_chat_ids=[CHAT])
    fake = harness.fake_bot.chats
    fake.bot_id = harness.settings.bot_id
    fake.add_chat(CHAT, bot_rights={"can_invite_users": True})
    await give_access(harness, ANN, BOB)
    await _members(harness, ANN, BOB)
    await _end_access(harness, ANN)
    await _end_access(harness, BOB)
    report = await harness.parts.premium.audit(datetime.now(UTC), dry_run=False)
    assert (report.removed, report.failed) == ([], 2)
    assert await _status(harness, ANN) == "member"  # still recorded: tried again next time


async def test_audit_chats_dry_run_only_lists(
    premium: Harness, capsys: pytest.CaptureFixture[str]
) -> None:
    await give_access(premium, ANN, BOB)
    await _members(premium, ANN, BOB)
    await _end_access(premium, BOB)
    assert await run_audit(premium.settings, dry_run=True) == 0
    assert premium.fake_bot.calls_for("banChatMember") == []
    assert await run_audit(premium.settings, dry_run=False) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"chat {CHAT}: would remove user {BOB} (no access)",
        "premium chats: 2 members checked, 1 without access would be removed, 0 failed",
        f"chat {CHAT}: removed user {BOB} (no access)",
        "premium chats: 2 members checked, 1 without access removed, 0 failed",
    ]
    assert _bans(premium, BOB) == 1


async def test_the_daily_audit_tells_the_admins(premium: Harness) -> None:
    await give_access(premium, ANN, BOB)
    await _members(premium, ANN, BOB)
    assert "premium-audit" not in await premium.parts.scheduler.run_due()  # an hour later
    await _end_access(premium, BOB)
    premium.clock.skip(3_700)
    ran = await premium.parts.scheduler.run_due()
    # The minute's removals took Bob out first; the audit checks who is left.
    assert ran.index("premium-removals") < ran.index("premium-audit")
    await premium.deliver()
    summary = "Premium chats audit: members checked: 1; without access, removed: 0; failed: 0."
    assert premium.last_reply(ADMIN_ID).text == summary
    assert BOB not in premium.fake_bot.chats.chats[CHAT].members


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


async def test_access_ending_removes_within_a_minute(premium: Harness) -> None:
    await give_access(premium, BOB)
    await _members(premium, BOB)
    assert "premium-removals" in await premium.parts.scheduler.run_due()
    assert BOB in premium.fake_bot.chats.chats[CHAT].members
    await _end_access(premium, BOB)
    premium.clock.skip(61)
    assert "premium-removals" in await premium.parts.scheduler.run_due()
    assert BOB not in premium.fake_bot.chats.chats[CHAT].members


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


@pytest.mark.parametrize("dry_run", [["--dry-run"], []], ids=["dry-run", "for-real"])
async def test_the_audit_with_telegram_unreachable_is_one_line_and_exit_3(
    tmp_path: Path,
    migrated_env: dict[str, str],
    fakes: tuple[FakeBotAPI, FakeStripe],
    dry_run: list[str],
) -> None:
    """It said "0 members checked ... 0 failed" and exit 0: all was well, it seemed."""
    nowhere = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    env = {
        **migrated_env,
        "TELEGRAM_API_BASE": nowhere,
        "PREMIUM_CHAT_IDS": str(CHAT),
        "LOG_LEVEL": "ERROR",
    }
    status, stderr = await run_cli(["audit-chats", *dry_run], env, tmp_path)
    assert status == 3
    assert_one_line(
        stderr,
        f"audit-chats: stopped: Telegram cannot be reached at {nowhere} (TelegramNetworkError)",
    )
    assert_no_token(stderr)


async def test_the_audit_command_runs_when_telegram_answers(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    env = {**migrated_env, "PREMIUM_CHAT_IDS": str(CHAT), "LOG_LEVEL": "ERROR"}
    status, stderr = await run_cli(["audit-chats", "--dry-run"], env, tmp_path)
    assert (status, stderr) == (0, "")
