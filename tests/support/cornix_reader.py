"""What an auto-trading bot that follows Cornix's published rules takes from a message.

Written from the rules, not from our renderer (bot/texts/cornix.py), so the tests can hold
the renderer to them:

- https://help.cornix.io/en/articles/5814956-signal-posting : a full coin pair name
  (BTC/USD); an Entry or Buy keyword; a Stop (or Sell) keyword; take-profits after Take
  Profit, Target, TP or Sell; "100-200" is two entries unless "zone" goes with it; a stop
  not above the entry of a long nor below the entry of a short; LONG/SHORT optional,
  read from the prices; leverage after Leverage or Lev; "above"/"below" make a breakout.
- https://help.cornix.io/en/articles/5814928-free-text-trade : Entry targets,
  Take-Profit targets, Stop targets, Leverage.
- https://help.cornix.io/en/articles/5814858-leverage : margin type Cross or Isolated.
- https://help.cornix.io/en/articles/11382662-some-prices-are-too-far-from-each-other-current-price
  : every price within 10x of every other.
- https://help.cornix.io/en/articles/5814961-signal-cancellation : a reply with CLOSE,
  CANCEL or EXIT closes the signal replied to.

Where the rules are silent this reader is stricter than a bot needs to be, so that a
message it reads is one any such bot reads alike: text before the first keyword line holds
no keyword anywhere (nor CLOSE, CANCEL or EXIT), and no section has started there, so no
number in it is a price; from the first keyword on, every line is a keyword line or a list
item ("1) 65000", a price after the list's number), and each keyword appears once.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from decimal import Decimal

MAX_RATIO = Decimal(10)
_PAIR = re.compile(r"(?<![A-Z0-9])#?([A-Z0-9]{2,15})/([A-Z0-9]{2,10})(?![A-Z0-9])")
_PRICE = r"[0-9]+(?:\.[0-9]+)?"
_KEYWORDS = (  # the section, and how its keyword line starts (case does not matter)
    ("entry", re.compile(r"^(?:entry|buy)(?P<zone>\s+zone)?(?:\s+targets?)?(?![/\w])\s*:?", re.I)),
    (
        "targets",
        re.compile(r"^(?:take[\s-]?profit(?:\s+targets?)?|targets?|tp|sell)(?![/\w])\s*:?", re.I),
    ),
    ("stop", re.compile(r"^stop(?:\s+targets?)?(?![/\w])\s*:?", re.I)),
    ("leverage", re.compile(r"^(?:leverage|lev)(?![/\w])\s*:?", re.I)),
)
_ITEM = re.compile(rf"^(?:[0-9]{{1,2}}\)\s*)?(?P<prices>{_PRICE}(?:\s*-\s*{_PRICE})?)$")
_PRICES = re.compile(rf"^{_PRICE}(?:\s*-\s*{_PRICE}|(?:\s+{_PRICE})*)$")
_LEVERAGE = re.compile(
    rf"^(?:(?P<margin>cross|isolated)\s*)?\(?\s*(?P<times>{_PRICE})\s*x\s*\)?$", re.I
)
_BREAKOUT = re.compile(r"\b(above|below)\b", re.I)
# A keyword in the free text before the levels: the rules do not say a bot looks for
# keywords only at a line's start, so none may appear there (nor a word that closes).
_ANY_KEYWORD = re.compile(
    r"(?<!/)\b(entry|buy|sell|stop|targets?|tp[0-9]*|take[\s-]?profit|lev|leverage|zone|"
    r"close|cancel|exit)\b(?!/)",
    re.I,
)
_EXIT = re.compile(r"\b(close|cancel|exit)\b", re.I)


class Unreadable(ValueError):
    """A message such a bot would not trade, or could trade other than meant."""


@dataclass(frozen=True)
class ReadSignal:
    pair: str  # BASE/QUOTE
    side: str  # long or short
    entries: tuple[Decimal, ...]
    zone: bool  # the entries are the two ends of a range
    targets: tuple[Decimal, ...]
    stop: Decimal
    leverage: Decimal | None
    margin: str | None


def plain_text(message_html: str) -> str:
    """The text a bot gets: Telegram's parse mode HTML with its tags gone."""
    return html.unescape(re.sub(r"<[^>]*>", "", message_html))


def _section(line: str) -> tuple[str, str, bool] | None:
    for name, keyword in _KEYWORDS:
        found = keyword.match(line)
        if found:
            return name, line[found.end() :].strip(), bool(found.groupdict().get("zone"))
    return None


def _prices(text: str) -> list[Decimal]:
    return [Decimal(value) for value in re.findall(_PRICE, text)]


def _sections(lines: list[str]) -> tuple[dict[str, list[str]], bool]:
    """Each section's values, from the first keyword on."""
    found: dict[str, list[str]] = {}
    zone, current = False, None
    for line in lines:
        section = _section(line)
        if section is not None:
            name, rest, zoned = section
            if name in found:
                raise Unreadable(f"{name} given twice")
            found[name], current, zone = ([rest] if rest else []), name, zone or zoned
        elif current is None:
            continue  # before the first keyword: words for people
        elif not line:
            continue
        elif current != "leverage" and (item := _ITEM.match(line)):
            found[current].append(item.group("prices"))
        else:
            raise Unreadable(f"stray text where a bot reads prices: {line!r}")
    return found, zone


def _leverage(values: list[str]) -> tuple[Decimal | None, str | None]:
    if not values:
        return None, None
    matched = _LEVERAGE.match(" ".join(values))
    if matched is None:
        raise Unreadable(f"leverage unreadable: {values!r}")
    margin = matched.group("margin")
    return Decimal(matched.group("times")), margin.capitalize() if margin else None


def _side(header: str, entries: tuple[Decimal, ...], stop: Decimal) -> str:
    by_prices = "long" if stop < min(entries) else "short" if stop > max(entries) else None
    if by_prices is None:
        raise Unreadable("the stop is among the entries")
    written = {word.lower() for word in re.findall(r"\b(long|short)\b", header, re.I)}
    if written and written != {by_prices}:
        raise Unreadable(f"side {written} but the stop says {by_prices}")
    return by_prices


def read_signal(message_html: str) -> ReadSignal:
    text = plain_text(message_html)
    if _BREAKOUT.search(text):
        raise Unreadable("above/below would make it a breakout trade")
    pair = _PAIR.search(text)
    if pair is None:
        raise Unreadable("no coin pair with a slash")
    lines = [line.strip() for line in text.splitlines()]
    first = next((i for i, line in enumerate(lines) if _section(line)), len(lines))
    loose = _ANY_KEYWORD.search("\n".join(lines[:first]))
    if loose:
        raise Unreadable(f"a keyword in the free text: {loose.group(0)!r}")
    found, zone = _sections(lines[first:])
    for needed in ("entry", "targets", "stop"):
        if not found.get(needed):
            raise Unreadable(f"no {needed}")
    entries = tuple(p for value in found["entry"] for p in _prices(value))
    if any(
        not _PRICES.match(value) for key in ("entry", "targets", "stop") for value in found[key]
    ):
        raise Unreadable("a section holds something other than prices")
    stops = [p for value in found["stop"] for p in _prices(value)]
    if len(stops) != 1 or (zone and len(entries) != 2):  # noqa: PLR2004 - a zone's two ends
        raise Unreadable(f"stops {stops}, entries {entries}, zone {zone}")
    targets = tuple(p for value in found["targets"] for p in _prices(value))
    every = [*entries, *targets, *stops]
    if max(every) / min(every) > MAX_RATIO:
        raise Unreadable("prices more than 10x apart")
    leverage, margin = _leverage(found.get("leverage", []))
    side = _side("\n".join(lines[:first]), entries, stops[0])
    return ReadSignal(
        f"{pair.group(1)}/{pair.group(2)}",
        side,
        entries,
        zone,
        targets,
        stops[0],
        leverage,
        margin,
    )


def reply_command(message_html: str) -> str | None:
    """What a reply to a followed signal makes a bot do: close, cancel, exit, or None."""
    found = _EXIT.search(plain_text(message_html))
    return found.group(1).lower() if found else None
