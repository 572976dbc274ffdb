"""Signals pasted as several lines: the layout auto-trading bots read (bot/signals/cornix.py)
and the one most providers post in. Read into the same words as the one-line syntax
(syntax.SignalWords), so the same rules check them and an error names the wrong word.

    BTC/USDT LONG                      BTC/USDT Long #17
    Entry 65000-65500                  Leverage: Isolated (5x)
    Targets 67000 69000                Entry Zone: 65000-65500
    SL 63500                           Take-Profit Targets:
    Lev 5x                             1) 67000
                                       2) 69000
                                       Stop Targets:
                                       1) 63500

One line may stand for several when its parts are separated by " / " (BTC/USDT LONG /
Entry 65000 / ...). The side may be left out: a stop below the entry is a long (as Cornix
reads it). Two entry prices are a zone from the lower to the higher (a signal has one
entry or one range); a margin type other than the one signals go out with is refused
rather than dropped without a word.
"""

from __future__ import annotations

import re

from bot.signals import cornix
from bot.signals.spec import SignalSpec
from bot.signals.syntax import (
    SignalSyntaxError,
    SignalWords,
    build_spec,
    check_symbol,
    parse_price,
    parse_signal,
)

PASTE_SYNTAX = (
    "PAIR [LONG|SHORT]\nEntry PRICE[-PRICE]\nTargets PRICE [PRICE ...]\nSL PRICE\n"
    "[Lev 5x]\n[TF 4h]\n[Note text]"
)
# Each label and the keyword of the one-line syntax it stands for. Written with spaces;
# a hyphen or no space matches too ("Take-Profit", "StopLoss").
_LABELS = {
    "entry": "entry",
    "entries": "entry",
    "enter": "entry",
    "buy": "entry",
    "entry zone": "entry",
    "buy zone": "entry",
    "entry target": "entry",
    "entry targets": "entry",
    "tp": "tp",
    "tps": "tp",
    "target": "tp",
    "targets": "tp",
    "take profit": "tp",
    "take profits": "tp",
    "take profit target": "tp",
    "take profit targets": "tp",
    "sell": "tp",
    "sl": "sl",
    "stop": "sl",
    "stop loss": "sl",
    "stop target": "sl",
    "stop targets": "sl",
    "lev": "lev",
    "leverage": "lev",
    "tf": "tf",
    "timeframe": "tf",
    "time frame": "tf",
    "note": "note",
    "notes": "note",
}
_LABEL = re.compile(
    r"^(?:"
    + "|".join(label.replace(" ", r"[\s-]*") for label in sorted(_LABELS, key=len, reverse=True))
    + r"|tp[0-9]{1,2})(?=[\s:(]|$)\s*:?\s*",
    re.IGNORECASE,
)
_JOINED = {label.replace(" ", ""): keyword for label, keyword in _LABELS.items()}
_COMMAND = re.compile(r"\s*/signal(@\w+)?(?=\s|$)", re.IGNORECASE)
_PARTS = re.compile(r"\s+/\s+")  # "BTC/USDT LONG / Entry 65000": a slash between spaces
_INDEX = re.compile(r"^[0-9]{1,2}[).:]$")  # "1)" in "1) 65000": a list's number
_SIGNAL_NUMBER = re.compile(r"^#[0-9]+$")  # "#17" in a copied signal's first line
_DASHES = str.maketrans({"–": "-", "—": "-"})  # noqa: RUF001 - ranges as typed or copied


def is_pasted(text: str) -> bool:
    """Several lines (or parts between " / "): read with `parse_pasted`."""
    return "\n" in text.strip() or _PARTS.search(text) is not None


def read_signal(text: str, *, for_bots: bool = False) -> SignalSpec:
    """`/signal ...` in one line, or a pasted signal of several lines."""
    args = _without_command(text)
    if "\n" in args.strip():
        return parse_pasted(args, for_bots=for_bots)
    try:
        return parse_signal(args, for_bots=for_bots)
    except SignalSyntaxError:
        if not is_pasted(args):
            raise
    return parse_pasted(args, for_bots=for_bots)


def _without_command(text: str) -> str:
    command = _COMMAND.match(text)
    return text[command.end() :] if command else text


def _lines(text: str) -> list[str]:
    """The logical lines: a note keeps the rest of its line, slashes and all."""
    lines: list[str] = []
    for raw in text.translate(_DASHES).splitlines():
        line = raw.strip()
        label = _LABEL.match(line)
        if label and _keyword(label.group(0)) == "note":
            lines.append(line)
        else:
            lines += [part.strip() for part in _PARTS.split(line) if part.strip()]
    return [line for line in lines if line]


def _keyword(label: str) -> str:
    """The one-line syntax's keyword for a matched label (`Take-Profit Targets:` -> tp)."""
    joined = re.sub(r"[\s:()-]+", "", label.lower())
    if re.fullmatch(r"tp[0-9]{1,2}", joined):
        return "tp"
    return _JOINED[joined]


def parse_pasted(text: str, *, for_bots: bool = False) -> SignalSpec:
    """A signal written over several lines, checked as the one-line syntax is."""
    lines = _lines(text)
    if not lines:
        raise SignalSyntaxError("", "syntax.empty")
    symbol, side = _head(lines[0])
    values, note = _sections(lines[1:])
    _join_entry(values)
    _clean_leverage(values)
    words = SignalWords(symbol, side or _side_from_prices(values), values, note)
    return build_spec(words, for_bots=for_bots)


def _head(line: str) -> tuple[str, str | None]:
    """The pair and, if written, the side: `BTC/USDT LONG`, `#BTCUSDT`, `BTC/USDT Long #17`."""
    tokens = line.split()
    if _LABEL.match(line):
        raise SignalSyntaxError(tokens[0], "syntax.paste_pair_first")
    symbol = check_symbol(tokens[0].lstrip("#"))
    side = None
    for token in tokens[1:]:
        word = token.strip("()[]:,.").lower()
        if word in {"long", "short"} and side is None:
            side = word
        elif not _SIGNAL_NUMBER.match(token):
            raise SignalSyntaxError(token, "syntax.paste_head")
    return symbol, side


def _sections(lines: list[str]) -> tuple[dict[str, list[str]], str | None]:
    """The words after each label; a line without one continues the list above it."""
    values: dict[str, list[str]] = {}
    note: str | None = None
    current: str | None = None
    for line in lines:
        label = _LABEL.match(line)
        if label is None:
            more = _words(line)
            if current not in {"entry", "tp", "sl"} or not more or not more[0][:1].isdigit():
                raise SignalSyntaxError(line.split()[0], "syntax.paste_line")
            assert current is not None
            values[current] += more
            continue
        keyword = _keyword(label.group(0))
        written = label.group(0).strip().rstrip(":").strip()
        # TP1, TP2 ... each on its own line are one list, not a label given twice.
        numbered = keyword == "tp" == current and written[-1:].isdigit()
        if (keyword in values or (keyword == "note" and note is not None)) and not numbered:
            raise SignalSyntaxError(written, "syntax.twice", keyword=written)
        rest = line[label.end() :].strip()
        if keyword == "note":
            note, current = rest or None, None
            if note is None:
                raise SignalSyntaxError(written, "syntax.note_empty")
            continue
        values.setdefault(keyword, [])
        values[keyword] += _words(rest)
        current = keyword
    return values, note


def _words(text: str) -> list[str]:
    """The values on a line, without a list's numbers (`1) 65000`) and with a range
    written with spaces (`65000 - 65500`) made one word."""
    # A trailing comma separates a list ("67000, 69000"); one inside a number stays, and
    # is refused as a price ("65,000" could be either 65 or 65000).
    words = [word.rstrip(",") for word in text.split() if not _INDEX.match(word)]
    joined: list[str] = []
    for word in words:
        if joined and (word.startswith("-") or joined[-1].endswith("-")):
            joined[-1] += word
        else:
            joined.append(word)
    return joined


def _join_entry(values: dict[str, list[str]]) -> None:
    """Two entry prices are the zone between them (Cornix sorts them; so do we)."""
    words = values.get("entry", [])
    if len(words) > 2:  # noqa: PLR2004 - one entry, or the two ends of a zone
        raise SignalSyntaxError(words[2], "syntax.entries_two")
    if len(words) == 2:  # noqa: PLR2004
        first, second = parse_price(words[0], "entry"), parse_price(words[1], "entry")
        if first == second:
            raise SignalSyntaxError(words[1], "syntax.entry_order")
        low, high = sorted(words, key=lambda word: parse_price(word, "entry"))
        values["entry"] = [f"{low}-{high}"]


def _clean_leverage(values: dict[str, list[str]]) -> None:
    """`Isolated (5x)`, `Cross 20x`, `x5`, `5`: the number, as the one-line syntax has it.
    A margin type other than cornix.MARGIN is refused: signals cannot carry it."""
    words: list[str] = []
    for word in values.get("lev", []):
        bare = word.strip("()[],")
        if bare.lower() in {"cross", "isolated"}:
            if bare.lower() != cornix.MARGIN.lower():
                raise SignalSyntaxError(bare, "syntax.margin", margin=cornix.MARGIN)
            continue
        words.append(bare[1:] + "x" if bare.lower().startswith("x") else bare)
    if "lev" in values:
        values["lev"] = words


def _side_from_prices(values: dict[str, list[str]]) -> str:
    """Long when the stop is below the entry. Without both, the check that follows names
    what is missing, and the side read here is never used."""
    if not values.get("sl") or not values.get("entry"):
        return "long"
    stop = parse_price(values["sl"][0], "sl")
    entry = parse_price(values["entry"][0].partition("-")[0], "entry")
    return "long" if stop < entry else "short"
