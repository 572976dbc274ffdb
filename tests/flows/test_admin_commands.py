"""Admin-only commands: /grant, /broadcast, /stats — and refusals for everyone else."""

from __future__ import annotations

import pytest

from bot.accounts.access import has_access
from db.models import Entitlement, OutboxMessage
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import count, give_access, state

USER = 8001


@pytest.fixture(autouse=True)
async def _known_users(harness: Harness) -> None:
    """Both chat here before each test: writing to the bot registers the sender (a state
    change of its own), so 'changes nothing' below means nothing beyond that."""
    await harness.send_text(ADMIN_ID, "/help")
    await harness.send_text(USER, "/help")
    harness.fake_bot.clear()


@pytest.mark.parametrize("command", ["/grant 8002 30", "/broadcast hi all", "/stats"])
async def test_admin_commands_refuse_others(harness: Harness, command: str) -> None:
    before = await state(harness)
    await harness.send_text(USER, command)
    assert "only the provider's admins" in harness.last_reply(USER).text
    assert await state(harness) == before


async def test_grant_gives_and_takes_access(harness: Harness) -> None:
    from datetime import UTC, datetime

    await harness.send_text(ADMIN_ID, f"/grant {USER} 7")
    assert "has access until" in harness.last_reply(ADMIN_ID).text
    async with harness.session() as session:
        assert await has_access(session, USER, datetime.now(UTC))
    await harness.deliver(wait=2)  # a second after the reply to USER's /help
    assert "given access" in harness.last_reply(USER).text
    await harness.send_text(ADMIN_ID, f"/grant {USER} 0")
    async with harness.session() as session:
        assert not await has_access(session, USER, datetime.now(UTC))


@pytest.mark.parametrize("args", ["", "abc 7", "8001", "8001 -1", "8001 99999"])
async def test_bad_grant_changes_nothing(harness: Harness, args: str) -> None:
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/grant {args}".strip())
    reply = harness.last_reply(ADMIN_ID).text
    assert "Usage" in reply or "At most" in reply
    assert await state(harness) == before
    assert await count(harness, Entitlement) == 0


async def test_broadcast_reaches_subscribers_only(harness: Harness) -> None:
    await give_access(harness, 8101, 8102)
    await harness.send_text(USER, "/start")
    await harness.send_text(ADMIN_ID, "/broadcast Markets open <early> today")
    assert "queued for 2 subscribers" in harness.last_reply(ADMIN_ID).text
    await harness.deliver()
    for chat in (8101, 8102):
        assert harness.last_reply(chat).text == "Markets open &lt;early&gt; today"
    assert len(harness.replies(USER)) == 1
    await harness.send_text(ADMIN_ID, "/broadcast")
    assert "Usage" in harness.last_reply(ADMIN_ID).text
    assert await count(harness, OutboxMessage) == 2


async def test_stats(harness: Harness) -> None:
    await give_access(harness, 8101, 8102)
    await harness.send_text(ADMIN_ID, "/stats")
    text = harness.last_reply(ADMIN_ID).text
    assert "With access now: 2" in text
    assert "active 2" in text
    assert "MRR: $98.00" in text  # two monthly $49.00 plans from the fake Stripe prices


async def test_help_shows_admin_commands_to_admins_only(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, "/help")
    assert "/signal SYMBOL" in harness.last_reply(ADMIN_ID).text
    await harness.send_text(USER, "/help")
    assert "/signal SYMBOL" not in harness.last_reply(USER).text


@pytest.mark.parametrize(
    ("args", "named"),
    [
        ("² 1", "²"),  # str.isdigit() says yes; it is not a number
        ("٣ 1", "٣"),  # Arabic-Indic three: int() says 3
        ("1_000 1", "1_000"),
        ("12345678901234567890 1", "12345678901234567890"),  # beyond BIGINT
        ("0 10", "0"),  # no Telegram user is 0
        ("-5 10", "-5"),
        ("8001 ²", "²"),
        ("8001 1e3", "1e3"),
        ("8001 3651", "3651"),
    ],
)
async def test_bad_grant_arguments_are_named_and_change_nothing(
    harness: Harness, args: str, named: str
) -> None:
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/grant {args}")
    reply = harness.last_reply(ADMIN_ID).text
    assert named in reply and "Usage" in reply
    assert await state(harness) == before


async def test_taking_back_a_grant_nobody_has_tells_the_admin_only(harness: Harness) -> None:
    await harness.send_text(USER, "/start")
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/grant {USER} 0")
    assert "has no complimentary access" in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before  # no row, no "your access ended" message
    await harness.deliver()
    assert len(harness.replies(USER)) == 1  # the /start reply, nothing more


async def test_a_grant_that_ran_out_cannot_be_taken_back_twice(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, f"/grant {USER} 5")
    await harness.send_text(ADMIN_ID, f"/grant {USER} 0")
    assert "taken back" in harness.last_reply(ADMIN_ID).text
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/grant {USER} 0")
    assert "has no complimentary access" in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before


@pytest.mark.parametrize(
    "data",
    [
        "sig:send:²",
        "sig:send:99999999999999999999",
        "sig:send:0",
        "sig:send:-1",
        "sig:boom:1",
        "x",
    ],
)
async def test_buttons_that_are_not_ours_get_an_answer_and_change_nothing(
    harness: Harness, data: str
) -> None:
    before = await state(harness)
    await harness.press(ADMIN_ID, data)
    (answer,) = harness.fake_bot.calls_for("answerCallbackQuery")
    assert answer["text"] == "This button is no longer valid." and answer["show_alert"]
    assert await state(harness) == before
