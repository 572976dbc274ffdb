"""Nothing a user reads bypasses the catalogue: a pseudo-language run over every screen.

A test-only language, "xx", says what English says, each text wrapped in ⟦ ⟧. Everyone
here reads it (their Telegram app is set to it); then every command, button, notice and
admin screen is walked, and every word the bot put on Telegram (messages, edits, buttons,
alerts, invoices, command menus) must lie inside a ⟦ ⟧: text outside any is a string that
did not come from the catalogue, and would stay English in Russian. What users and Stripe
wrote (names, the signal's own fields, an announcement) is allowed as it is.
"""

from __future__ import annotations

import gettext
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core import languages
from bot.texts import CATALOGUE, cornix
from bot.texts.keyboards import LanguageButton, PreferenceButton, SignalButton
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import (
    give_access,
    payment_failed_event,
    subscription_event,
    subscription_for,
)

PSEUDO = "xx"
OPEN, CLOSE = "⟦", "⟧"
ANN, BOB = 7_700_001, 7_700_002
LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000"
# What users, the provider and Stripe wrote, and the languages' own names: not ours to say.
THEIRS = ("BTCUSDT", "Pro Signals", "Pro Yearly", "Ann", "Hello everyone", "SignalDesk Test")
# What trading bots read: English in every language on purpose (SIGNAL_STYLE=cornix).
BOTS = (*cornix.KEYWORDS, "BTC/USDT")
TAGS = re.compile(r"<[^>]+>|&[a-z]+;|https?://\S+|@\w+|/\w+")
WRAPPED = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")


def _wrap(text: str) -> str:
    core = text.strip()
    if not core:
        return text
    start = text.index(core[0])
    return f"{text[:start]}{OPEN}{core}{CLOSE}{text[start + len(core) :]}"


class Pseudo(gettext.NullTranslations):
    """English, each text wrapped; an id the catalogue lacks stays as it is."""

    def __init__(self, english: gettext.GNUTranslations) -> None:
        super().__init__()
        self._english = english
        self._catalog = english._catalog  # type: ignore[attr-defined]  # keys() reads it

    def gettext(self, message: str) -> str:
        text = self._english.gettext(message)
        return text if text == message else _wrap(text)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        text = self._english.ngettext(singular, plural, n)
        return text if text in (singular, plural) else _wrap(text)


@pytest.fixture
def pseudo(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setitem(CATALOGUE.locales, PSEUDO, Pseudo(CATALOGUE.locales["en"]))
    monkeypatch.setattr(languages, "LANGUAGES", (*languages.LANGUAGES, PSEUDO))
    monkeypatch.setitem(languages.NATIVE_NAMES, PSEUDO, "Pseudo")
    yield


def outside(text: str) -> str:
    """What of `text` lies outside every ⟦ ⟧, less markup and what users wrote."""
    previous = None
    while previous != text:
        previous, text = text, WRAPPED.sub(" ", text)
    for theirs in (*THEIRS, *BOTS, *languages.NATIVE_NAMES.values()):
        text = text.replace(theirs, " ")
    return TAGS.sub(" ", text)


def leaks(texts: list[str]) -> list[str]:
    """The texts with letters outside the catalogue's words."""
    return [text for text in texts if re.search(r"[^\W\d_]", outside(text))]


def shown(harness: Harness) -> list[str]:
    """Every text the bot put on Telegram for people to read."""
    texts: list[str] = []
    for call in harness.fake_bot.calls:
        params: dict[str, Any] = call.params
        for field in ("text", "title", "description", "caption"):
            if isinstance(params.get(field), str) and call.method != "setWebhook":
                texts.append(params[field])
        markup = params.get("reply_markup")
        if isinstance(markup, dict):
            texts += [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
        if isinstance(params.get("prices"), list):
            texts += [price["label"] for price in params["prices"]]
        if isinstance(params.get("commands"), list):
            texts += [command["description"] for command in params["commands"]]
    return texts


def test_the_check_finds_a_string_that_bypasses_the_catalogue() -> None:
    """The detector itself: wrapped texts pass, nested ones too; a bare word fails."""
    assert leaks([f"{OPEN}Entry: <b>{OPEN}x{CLOSE}</b>{CLOSE}\n{OPEN}SL{CLOSE} BTCUSDT"]) == []
    assert leaks([f"{OPEN}Plan{CLOSE} · 5 R"]) == [f"{OPEN}Plan{CLOSE} · 5 R"]
    assert leaks(["Hello from the code"]) == ["Hello from the code"]


async def _user_screens(harness: Harness) -> None:
    for command in (
        "/start",
        "/help",
        "/subscribe",
        "/status",
        "/manage",
        "/signals",
        "/performance",
        "/settings",
        "/language",
        "/referral",
        "/join",
        "/support",
        "/paysupport",
        "/nosuchcommand",
        "just some words",
        "/start ref_123",
    ):
        await harness.send_text(ANN, command, language_code=PSEUDO)
    await harness.press(
        ANN, PreferenceButton(what="updates", choice="silent").pack(), language_code=PSEUDO
    )
    await harness.press(ANN, "pref:volume:loud", language_code=PSEUDO)
    await harness.press(ANN, "no-such-button", language_code=PSEUDO)
    await harness.press(ANN, "billing:plans", language_code=PSEUDO)
    await harness.press(ANN, "billing:portal", language_code=PSEUDO)


async def _admin_screens(harness: Harness) -> None:
    say = [
        "/help",
        f"/signal {LINE}",
        "/signal BTCUSDT sideways",
        "/update 1 tp1",
        "/update 999 tp1",
        "/update 1 close",
        "/stats",
        f"/grant {BOB} 7",
        "/grant nobody",
        f"/user {BOB}",
        "/user 1",
        f"/revoke {BOB} testing",
        "/refund",
        "/broadcast",
        "/broadcast Hello everyone",
    ]
    for command in say[:2]:
        await harness.send_text(ADMIN_ID, command, language_code=PSEUDO)
    await harness.press(
        ADMIN_ID, SignalButton(action="send", signal_id=1).pack(), language_code=PSEUDO
    )
    await harness.press(
        ADMIN_ID, SignalButton(action="send", signal_id=1).pack(), language_code=PSEUDO
    )
    for command in say[2:]:
        await harness.send_text(ADMIN_ID, command, language_code=PSEUDO)
    await harness.send_text(ADMIN_ID, f"/signal {LINE}", language_code=PSEUDO)
    await harness.press(
        ADMIN_ID, SignalButton(action="discard", signal_id=2).pack(), language_code=PSEUDO
    )


async def _billing_notices(harness: Harness) -> None:
    now = int(time.time())
    subscription = subscription_for(ANN, sub_id="sub_xx", customer="cus_xx")
    await harness.post_event(subscription_event("created", subscription, created=now))
    failed = payment_failed_event("cus_xx", "sub_xx", created=now + 1, next_attempt=now + 86_400)
    await harness.post_event(failed)
    ended = {**subscription, "status": "canceled"}
    await harness.post_event(subscription_event("deleted", ended, created=now + 2))


async def test_every_screen_reads_from_the_catalogue(
    pseudo: None, make_harness: MakeHarness
) -> None:
    harness = await make_harness(
        referral_bonus_days=7, stars_price=250, support_contact="@signaldesk_help"
    )
    await harness.send_text(BOB, "/start", language_code=PSEUDO)
    await give_access(harness, 7_700_003)
    await harness.send_text(7_700_003, "/status", language_code=PSEUDO)
    await _user_screens(harness)
    await _admin_screens(harness)
    await _billing_notices(harness)
    await harness.deliver(wait=5)
    await harness.parts.progress.report()
    await harness.send_text(ANN, "/status", language_code=PSEUDO)

    texts = shown(harness)
    assert len(texts) > 80  # the walk really happened
    assert leaks(texts) == []
    # Ann chooses English: the answer is in English, and the check sees it.
    await harness.press(ANN, LanguageButton(language="en").pack(), language_code=PSEUDO)
    assert leaks(shown(harness)[len(texts) :])
