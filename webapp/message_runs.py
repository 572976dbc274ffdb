"""A Telegram message (HTML, as the catalogue renders it) as runs of text and their marks.

The Mini App shows a signal exactly as subscribers will get it, and builds every node with
DOM calls under a strict Content-Security-Policy: it takes text, never markup. So the
message is handed over as `[{"text": "BTC/USDT", "marks": ["b"]}, {"text": " Long\\n..."}]`,
the marks being the formatting Telegram shows (bold, italic, underline, strikethrough,
code); any other tag keeps its text and loses nothing a subscriber would see as format.
"""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

# Telegram's HTML tags, by the mark the page draws for each.
MARKS = {
    "b": "b",
    "strong": "b",
    "i": "i",
    "em": "i",
    "u": "u",
    "ins": "u",
    "s": "s",
    "strike": "s",
    "del": "s",
    "code": "code",
    "pre": "code",
}


class _Runs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.runs: list[dict[str, Any]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.open:
            del self.open[len(self.open) - 1 - self.open[::-1].index(tag)]

    def handle_data(self, data: str) -> None:
        marks = sorted({MARKS[tag] for tag in self.open if tag in MARKS})
        if self.runs and self.runs[-1]["marks"] == marks:
            self.runs[-1]["text"] += data
        else:
            self.runs.append({"text": data, "marks": marks})


def runs(html_text: str) -> list[dict[str, Any]]:
    """The message's text in order, each run with its marks (an empty list: plain)."""
    parser = _Runs()
    parser.feed(html_text)
    parser.close()
    return parser.runs
