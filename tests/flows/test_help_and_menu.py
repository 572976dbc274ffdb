"""What people see first: the menu and /help list only what this bot offers, admins see
every admin command, and a message that is no command gets a pointer, not silence."""

from __future__ import annotations

import time

import pytest

from bot.telegram.setup import set_menus
from bot.texts import plain
from bot.texts.commands import Offered
from tests.support.harness import ADMIN_ID, Harness, MakeHarness

USER = 6106
OPTIONAL = {"subscribe", "manage", "paysupport", "referral", "join"}


@pytest.mark.parametrize(
    ("offered", "hidden"),
    [
        (Offered(rails=(), referrals=False, premium_chats=False), OPTIONAL),
        (Offered(rails=("stars",), referrals=False, premium_chats=True), {"referral"}),
        (Offered(rails=("stripe", "stars"), referrals=True, premium_chats=True), set()),
    ],
)  # fmt: skip
def test_only_the_commands_set_up_are_offered(offered: Offered, hidden: set[str]) -> None:
    always = {"start", "status", "signals", "performance", "settings", "language", "support",
              "mydata", "deletedata"}  # fmt: skip
    commands = set(offered.user_commands())
    assert always | {"help"} <= commands
    assert not commands & hidden
    assert commands | hidden == always | {"help"} | OPTIONAL


async def test_help_lists_what_this_bot_offers(harness: Harness) -> None:
    """The harness offers Stripe only: no Stars, no referrals, no premium chats."""
    await harness.send_text(USER, "/help")
    text = harness.last_reply(USER).text
    assert "/subscribe — plans and payment links (Stripe)" in text
    assert "/paysupport" in text and "/status" in text
    assert "/referral" not in text and "/join" not in text
    assert "/refund" not in text and "/grant" not in text  # admins' only


async def test_an_admin_sees_every_admin_command(harness: Harness) -> None:
    await harness.send_text(ADMIN_ID, "/help")
    text = harness.last_reply(ADMIN_ID).text
    for command in (
        "/signal",
        "/update",
        "/stats",
        "/grant",
        "/revoke",
        "/refund",
        "/user",
        "/broadcast",
    ):
        assert command in text, command


async def test_the_menu_follows_the_settings(make_harness: MakeHarness) -> None:
    harness = await make_harness(
        stars_price=250, referral_bonus_days=7, premium_chat_ids=[-1001234567890]
    )
    await set_menus(harness.parts.bot, "en", Offered.by(harness.settings))
    listed = {c["command"] for c in harness.fake_bot.menus["en"]}
    assert {"referral", "join", "subscribe", "paysupport"} <= listed
    await harness.send_text(USER, "/help")
    assert "(Stripe, Telegram Stars)" in harness.last_reply(USER).text

    bare = await make_harness(stripe_api_key=None, stripe_price_ids=[])
    await set_menus(bare.parts.bot, "en", Offered.by(bare.settings))
    listed = {c["command"] for c in bare.fake_bot.menus["en"]}
    assert not listed & {"referral", "join", "subscribe", "manage", "paysupport"}


async def test_plain_text_gets_a_pointer_to_help(harness: Harness) -> None:
    await harness.send_text(USER, "hello, how do I pay?")
    assert harness.last_reply(USER).text == plain("fallback.text")
    await harness.send_text(USER, "/frobnicate now")
    assert harness.last_reply(USER).text == plain("fallback.command", command="/frobnicate")


async def test_a_group_is_left_alone(harness: Harness) -> None:
    group = -1009876543210
    await harness.feed(
        {
            "message": {
                "message_id": 1,
                "date": int(time.time()),
                "chat": {"id": group, "type": "supergroup", "title": "Premium"},
                "from": {"id": USER, "is_bot": False, "first_name": "Ann"},
                "text": "gm everyone",
            }
        }
    )
    assert harness.replies(group) == [] and harness.replies(USER) == []
