"""With PUBLIC_URL set, the chat offers the Mini App: Open app buttons and the menu button."""

from __future__ import annotations

from bot.telegram.setup import announce
from tests.support.harness import Harness, MakeHarness

USER = 7301
APP_URL = "https://bot.example.test/app/"


async def test_start_and_status_offer_the_app(make_harness: MakeHarness) -> None:
    harness = await make_harness(public_url="https://bot.example.test")
    for command in ("/start", "/status"):
        await harness.send_text(USER, command)
        button = harness.last_reply(USER).params["reply_markup"]["inline_keyboard"][0][0]
        assert button == {"text": "Open app", "web_app": {"url": APP_URL}}


async def test_menu_button_opens_the_app(make_harness: MakeHarness) -> None:
    harness = await make_harness(public_url="https://bot.example.test")
    await announce(harness.parts.bot, harness.parts.dispatcher, harness.settings)
    (call,) = harness.fake_bot.calls_for("setChatMenuButton")
    assert call["menu_button"] == {
        "type": "web_app",
        "text": "Open app",
        "web_app": {"url": APP_URL},
    }


async def test_without_public_url_there_is_no_app_button(harness: Harness) -> None:
    await harness.send_text(USER, "/start")
    assert "reply_markup" not in harness.last_reply(USER).params
    await announce(harness.parts.bot, harness.parts.dispatcher, harness.settings)
    (call,) = harness.fake_bot.calls_for("setChatMenuButton")
    assert call["menu_button"] == {"type": "commands"}
