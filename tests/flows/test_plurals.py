"""Every count a person reads is in its language's plural form: "queued for 1 subscriber",
never "1 subscribers" (issue 25), in the four languages."""

from __future__ import annotations

import pytest

from bot.core.languages import LANGUAGES
from bot.texts import CATALOGUE, tn
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import publish_signal

COUNTED: dict[str, dict[str, object]] = {
    "signal.queued": {"title": "BTC"},
    "syntax.update_tp_count": {"id": 7},
    "track.headline": {"rate": "50%", "total": "+1R"},
    "referral.link": {"link": "t.me/x", "brought": 3, "paid": 1},
}


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", sorted(COUNTED))
def test_each_count_has_its_plural_forms(language: str, key: str) -> None:
    with CATALOGUE.use_locale(language):
        texts = {n: tn(key, n, **COUNTED[key]) for n in (0, 1, 2, 5, 21, 111)}
    for n, text in texts.items():
        assert str(n) in text, (n, text)
        assert "{" not in text and key not in text


@pytest.mark.parametrize(
    ("key", "one", "many"),
    [
        ("signal.queued", "queued for 1 subscriber…", "queued for 2 subscribers…"),
        ("syntax.update_tp_count", "has 1 take-profit", "has 2 take-profits"),
        ("track.headline", "1 closed signal ·", "2 closed signals ·"),
        ("referral.link", "you get 1 day of", "you get 2 days of"),
    ],
)
def test_english_says_one_and_many(key: str, one: str, many: str) -> None:
    with CATALOGUE.use_locale("en"):
        assert one in tn(key, 1, **COUNTED[key])
        assert many in tn(key, 2, **COUNTED[key])


async def test_an_update_past_the_only_take_profit_says_take_profit(harness: Harness) -> None:
    signal_id = await publish_signal(harness, "BTCUSDT long entry 65000 sl 63500 tp 67000")
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp2")
    assert f"signal #{signal_id} has 1 take-profit" in harness.last_reply(ADMIN_ID).text
    assert "take-profits" not in harness.last_reply(ADMIN_ID).text.split("Syntax")[0]
