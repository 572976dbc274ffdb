"""The public track record at /track-record: no login, cacheable, outside Telegram; closed
signals with their times and updates, the figures, the equity curve; open signals only as
a count (no level of theirs on the page); a cancelled signal shows as cancelled."""

from __future__ import annotations

from html.parser import HTMLParser

from tests.harness import Harness
from tests.helpers import post_signal_update, publish_signal


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
    assert body.count("Posted 20") == 3
    assert "<polyline" in body
    assert "cannot be edited or deleted" in body
    parser = _Meta()
    parser.feed(body)
    assert parser.meta["og:description"] == "2 closed signals · win rate 50% · total +1R"
    assert parser.meta["og:title"] == "SignalDesk: track record" and parser.scripts == 0


async def test_an_empty_record_says_so(harness: Harness) -> None:
    status, body, _ = await _page(harness)
    assert status == 200
    assert "0 closed signals · win rate — · total 0R" in body
    assert "No closed signals yet." in body and "<polyline" not in body


async def test_the_page_style_is_served(harness: Harness) -> None:
    async with harness.http.get(harness.base_url + "/app/track-record.css") as response:
        assert response.status == 200 and "text/css" in response.headers["Content-Type"]
