"""Premium chats, what the bot needs: the rules (the rights it needs, who must leave),
PREMIUM_CHAT_IDS checked at start, and its rights in each chat checked, one line per chat
that lacks them and /readyz saying so, an answer the library cannot parse included."""

from __future__ import annotations

import pytest

from bot.core.settings import SettingsError, load_settings
from bot.premium import rules
from tests.flows.premium_helpers import CHAT
from tests.support.fakes.chats import ADMIN_RIGHTS
from tests.support.harness import BOT_TOKEN, MakeHarness

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
