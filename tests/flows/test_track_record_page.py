"""The public track record at /track-record: no login, cacheable, outside Telegram; closed
signals with their times and updates, the figures, the equity curve; open signals only as
a count (no level of theirs on the page); a cancelled signal shows as cancelled."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.support.fakes.bot_api import BOT_USERNAME
from tests.support.harness import Harness
from tests.support.helpers import post_signal_update, publish_signal

SUBSCRIBE = f'<a class="subscribe" href="https://t.me/{BOT_USERNAME}?start=track">'


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.meta: dict[str, str] = {}
        self.scripts = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("property"):
            self.meta[str(values["property"])] = str(values.get("content"))
        self.scripts += tag == "script"


async def _page(harness: Harness) -> tuple[int, str, dict[str, str]]:
    async with harness.http.get(harness.base_url + "/track-record") as response:
        return response.status, await response.text(), dict(response.headers)


async def test_the_public_page_shows_the_record_and_hides_open_signals(
    harness: Harness,
) -> None:
    win = await publish_signal(harness, "BTCUSDT long entry 100 sl 90 tp 120")
    loss = await publish_signal(harness, "ETHUSDT short entry 50 sl 55 tp 40")
    gone = await publish_signal(harness, "ADAUSDT long entry 2 sl 1.8 tp 2.4")
    await publish_signal(harness, "XRPUSDT long entry 1.2345 sl 0.9876 tp 1.5555")  # still open
    await post_signal_update(harness, win, "tp1")  # +2R
    await post_signal_update(harness, loss, "sl")  # -1R
    await post_signal_update(harness, gone, "cancel")
    status, body, headers = await _page(harness)  # no Authorization: no login needed
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert headers["Cache-Control"] == "public, max-age=60"
    assert "script-src" not in headers["Content-Security-Policy"]  # no script at all
    assert "2 closed signals · win rate 50% · total +1R" in body
    assert "Open signals right now: 1" in body
    for leak in ("XRPUSDT", "1.2345", "0.9876", "1.5555"):
        assert leak not in body  # nothing of the open signal
    assert f"#{win} LONG BTCUSDT" in body and "+2R" in body and "-1R" in body
    assert f"#{gone} LONG ADAUSDT" in body and "cancelled" in body
    assert body.count("Posted ") == 3
    assert "<polyline" in body and '<g class="axis">' in body  # the curve, with its axes
    assert "cannot be edited or deleted" in body
    parser = _Meta()
    parser.feed(body)
    assert parser.meta["og:description"] == "2 closed signals · win rate 50% · total +1R"
    assert parser.meta["og:title"] == "SignalDesk: track record" and parser.scripts == 0


async def test_an_empty_record_says_so(harness: Harness) -> None:
    status, body, _ = await _page(harness)
    assert status == 200
    assert "0 closed signals" not in body  # a welcome, not a row of zeros
    assert "No closed signals yet. Every signal appears here" in body and "<polyline" not in body
    assert SUBSCRIBE in body
    parser = _Meta()
    parser.feed(body)
    assert "og:image" not in parser.meta  # no curve to show yet


async def test_the_shop_window(harness: Harness) -> None:
    """The provider's name, a Subscribe button into the bot, updates in words with prices as
    the language writes them, R rounded, and a picture of the curve for link previews."""
    win = await publish_signal(harness, "BTCUSDT long entry 65000 sl 62000 tp 69000")
    loss = await publish_signal(harness, "ETHUSDT long entry 3500 sl 3400 tp 3800")
    await post_signal_update(harness, win, "tp1 69000")  # +1.33R
    await post_signal_update(harness, loss, "sl 3400")
    _, body, _ = await _page(harness)
    assert SUBSCRIBE in body
    assert "Take-profit 1 hit at 69,000" in body and "Stop loss at 3,400" in body
    assert "tp1 @" not in body and "sl @" not in body
    assert "+1.33R" in body and "1.3333" not in body
    parser = _Meta()
    parser.feed(body)
    assert parser.meta["og:image"] == f"{harness.base_url}/track-record.png"
    async with harness.http.get(parser.meta["og:image"]) as response:
        assert response.status == 200 and response.content_type == "image/png"
        image = await response.read()
    assert image.startswith(b"\x89PNG\r\n\x1a\n") and len(image) < 50_000
    async with harness.http.get(harness.base_url + "/track-record?lang=ru") as response:
        russian = await response.text()
    assert "Стоп-лосс по 3\u00a0400" in russian and "Подписаться в Telegram" in russian


async def test_the_page_is_served_without_its_button_while_telegram_is_away(
    harness: Harness,
) -> None:
    harness.fake_bot.fail_next("getMe", "html", times=5)
    status, body, _ = await _page(harness)
    assert status == 200 and "No closed signals yet." in body
    assert SUBSCRIBE not in body


async def test_the_page_style_is_served(harness: Harness) -> None:
    async with harness.http.get(harness.base_url + "/app/track-record.css") as response:
        assert response.status == 200 and "text/css" in response.headers["Content-Type"]
