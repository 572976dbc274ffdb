"""The record's daily head as the channel reads it, in every language: the entry, its
whole hash in <code>, the count, the day, and the page's link only when there is one."""

from __future__ import annotations

import pytest

from bot.core.languages import LANGUAGES
from bot.notices.params import RecordHead
from bot.texts import CATALOGUE
from bot.texts.notices import render_params

HASH = "9715e410bf76028eec0e43fbd58f0bd81d9a8462fbc6afe3fd369ff025eaca9e"


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_head_in_every_language(language: str) -> None:
    params: RecordHead = {"seq": 128, "hash": HASH, "count": 128, "day": "2026-12-07", "url": None}
    with CATALOGUE.use_locale(language):
        text, markup = render_params("record_head", dict(params))
        linked, _ = render_params("record_head", {**params, "url": "https://x.example/tr"})
    assert markup is None
    assert f"<code>{HASH}</code>" in text and "128" in text and "2026" in text
    assert "https://" not in text and "https://x.example/tr" in linked
    assert text.count("<b>") == text.count("</b>") == 1
