"""BRAND_NAME: the provider's name wherever a person sees it, and no text in any language
spelling the product's own name."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from bot.core.settings import SettingsError, load_settings
from bot.texts import DEFAULT_BRAND, LOCALES, use_brand
from tests.support.harness import Harness, MakeHarness
from tests.support.processes import TOKEN

BRAND = 'Acme <Alpha> & "Co"'
USER = 6006


@pytest.fixture(autouse=True)
def default_brand_after() -> Iterator[None]:
    """The brand is the process's (set by bot.app.build): put the default back after."""
    yield
    use_brand(DEFAULT_BRAND)


@pytest.fixture
async def branded(make_harness: MakeHarness) -> Harness:
    return await make_harness(brand_name=BRAND)


async def test_the_chat_says_the_providers_name(branded: Harness) -> None:
    await branded.send_text(USER, "/help")
    text = branded.last_reply(USER).text
    assert '<b>Acme &lt;Alpha&gt; &amp; "Co"</b>' in text
    assert DEFAULT_BRAND not in text


async def test_the_mini_app_and_the_public_page_say_it(branded: Harness) -> None:
    async with branded.http.get(f"{branded.base_url}/api/v1/texts") as response:
        texts = (await response.json())["texts"]
    assert texts["app.name"] == BRAND  # raw: the page puts it in with textContent
    assert BRAND in texts["app.outside.title"]
    flat = [
        v
        for value in texts.values()
        for v in (value.values() if isinstance(value, dict) else [value])
    ]
    assert not [text for text in flat if DEFAULT_BRAND in text or "{brand}" in text]
    async with branded.http.get(f"{branded.base_url}/app/") as response:
        page = await response.text()
    assert '<title data-text="app.name">Acme &lt;Alpha&gt; &amp; "Co"</title>' in page
    async with branded.http.get(f"{branded.base_url}/track-record") as response:
        record = await response.text()
    assert "<h1>Acme &lt;Alpha&gt; &amp; &quot;Co&quot;: track record</h1>" in record
    assert DEFAULT_BRAND not in record


async def test_the_default_is_signaldesk(harness: Harness) -> None:
    await harness.send_text(USER, "/help")
    assert "<b>SignalDesk</b>" in harness.last_reply(USER).text


def test_no_text_in_any_language_spells_the_product_name() -> None:
    for po in sorted(Path(LOCALES).glob("*/LC_MESSAGES/messages.po")):
        with po.open("rb") as file:
            catalogue = read_po(file)
        named = [m.id for m in catalogue if m.id and DEFAULT_BRAND in str(m.string)]
        assert named == [], po


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("", "1 to 64 characters"),
        ("   ", "1 to 64 characters"),
        ("x" * 65, "1 to 64 characters"),
        ("Acme\x07", "control or invisible"),
        ("Acme\u202eemcA", "control or invisible"),
    ],
)
def test_a_brand_name_that_cannot_be_shown_is_refused(value: str, problem: str) -> None:
    with pytest.raises(SettingsError, match=f"^BRAND_NAME: .*{re.escape(problem)}"):
        load_settings(_env_file=None, bot_token=TOKEN, brand_name=value)


def test_a_brand_name_is_tidied() -> None:
    settings = load_settings(_env_file=None, bot_token=TOKEN, brand_name="  Acme \n Signals ")
    assert settings.brand_name == "Acme Signals"
