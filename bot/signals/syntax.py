"""The one-line signal syntax: parsing `/signal ...` text and formatting it back.

BTCUSDT long entry 65000 sl 63500 tp 67000 69000 [lev 5] [tf 4h] [note free text]
ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200 3100
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bot.core.safe_input import first_unsafe_char
from bot.signals import cornix
from bot.signals.results import ResultOutOfRangeError, result_at
from bot.signals.spec import SignalSpec

SYNTAX = (
    "/signal SYMBOL long|short entry PRICE[-PRICE] sl PRICE tp PRICE [PRICE ...] "
    "[lev N] [tf 4h] [note text]"
)
EXAMPLE = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h"

MAX_TAKE_PROFITS = 10
MAX_NOTE = 500
MAX_LEVERAGE = Decimal(200)
_SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9._/-]{1,19}$")
_TIMEFRAME = re.compile(r"^[0-9]{1,3}(m|h|d|w|mo)$")
PRICE_PATTERN = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,10})?$")  # ASCII digits only
_KEYWORDS = frozenset({"entry", "sl", "tp", "lev", "tf", "note"})


class SignalSyntaxError(ValueError):
    """A line that is not a valid signal (or update); `token` is the offending piece of
    text, `key` and `params` the catalogue's words for what is wrong with it."""

    def __init__(self, token: str, key: str, /, **params: object) -> None:
        super().__init__(f"{token!r}: {key} {params}")
        self.token = token
        self.key = key
        self.params = params


def parse_price(token: str, what: str) -> Decimal:
    if not PRICE_PATTERN.match(token):
        raise SignalSyntaxError(token, "syntax.price_shape", what=what)
    try:
        value = Decimal(token)
    except InvalidOperation:  # pragma: no cover - the regex already guarantees a number
        raise SignalSyntaxError(token, "syntax.not_a_number", what=what) from None
    if value <= 0:
        raise SignalSyntaxError(token, "syntax.price_positive", what=what)
    return value


def _entry(token: str) -> tuple[Decimal, Decimal]:
    if "-" in token:
        low_text, _, high_text = token.partition("-")
        if not low_text or not high_text:
            raise SignalSyntaxError(token, "syntax.entry_shape")
        low, high = parse_price(low_text, "entry"), parse_price(high_text, "entry")
        if low >= high:
            raise SignalSyntaxError(token, "syntax.entry_order")
        return low, high
    value = parse_price(token, "entry")
    return value, value


def check_symbol(token: str) -> str:
    """The symbol as stored: upper case, letters and digits (a pair's separator allowed)."""
    symbol = token.upper()
    if not _SYMBOL.match(symbol):
        raise SignalSyntaxError(token, "syntax.symbol")
    return symbol


def _head(tokens: list[str]) -> tuple[str, str]:
    """Symbol and side, the two words every signal starts with."""
    if not tokens:
        raise SignalSyntaxError("", "syntax.empty")
    symbol = check_symbol(tokens[0])
    if len(tokens) < 2 or tokens[1].lower() not in {"long", "short"}:
        token = tokens[1] if len(tokens) > 1 else symbol
        raise SignalSyntaxError(token, "syntax.side")
    return symbol, tokens[1].lower()


def _sections(rest: list[str]) -> tuple[dict[str, list[str]], str | None]:
    """Group the words after each keyword; `note` takes the rest of the line."""
    values: dict[str, list[str]] = {}
    current: str | None = None
    for index, token in enumerate(rest):
        keyword = token.lower()
        if keyword == "note":
            note = " ".join(rest[index + 1 :]).strip()
            if not note:
                raise SignalSyntaxError(token, "syntax.note_empty")
            return values, note
        if keyword in _KEYWORDS:
            if keyword in values:
                raise SignalSyntaxError(token, "syntax.twice", keyword=keyword)
            values[keyword] = []
            current = keyword
        elif current is None:
            raise SignalSyntaxError(token, "syntax.expected_keyword")
        else:
            values[current].append(token)
    return values, None


def _check_counts(values: dict[str, list[str]]) -> None:
    for keyword in ("entry", "sl", "tp"):
        if keyword not in values:
            raise SignalSyntaxError(keyword, "syntax.missing", keyword=keyword)
    for keyword, words in values.items():
        if not words:
            raise SignalSyntaxError(keyword, "syntax.needs_value", keyword=keyword)
        if keyword != "tp" and len(words) > 1:
            raise SignalSyntaxError(words[1], "syntax.one_value", keyword=keyword)
    if len(values["tp"]) > MAX_TAKE_PROFITS:
        raise SignalSyntaxError(
            values["tp"][MAX_TAKE_PROFITS], "syntax.too_many_tps", max=MAX_TAKE_PROFITS
        )


def _leverage(values: dict[str, list[str]]) -> Decimal | None:
    if "lev" not in values:
        return None
    raw = values["lev"][0]
    try:
        leverage = parse_price(raw.lower().removesuffix("x"), "lev")
    except SignalSyntaxError as error:
        raise SignalSyntaxError(raw, error.key, **error.params) from None
    if leverage < 1 or leverage > MAX_LEVERAGE:
        raise SignalSyntaxError(raw, "syntax.leverage", max=MAX_LEVERAGE)
    return leverage


def _timeframe(values: dict[str, list[str]]) -> str | None:
    if "tf" not in values:
        return None
    timeframe = values["tf"][0].lower()
    if not _TIMEFRAME.match(timeframe):
        raise SignalSyntaxError(values["tf"][0], "syntax.timeframe")
    return timeframe


@dataclass(frozen=True, slots=True)
class SignalWords:
    """A signal's words before they are checked, by keyword (`entry`, `sl`, `tp`, `lev`,
    `tf`), each as the admin wrote it: an error points at the word that is wrong."""

    symbol: str
    side: str
    values: dict[str, list[str]]
    note: str | None = None


def parse_signal(text: str, *, for_bots: bool = False) -> SignalSpec:
    """Parse the arguments of /signal (the command itself may be included). `for_bots`:
    also hold it to what auto-trading bots read (SIGNAL_STYLE=cornix)."""
    tokens = text.split()
    if tokens and tokens[0].lower().split("@")[0] == "/signal":
        tokens = tokens[1:]
    symbol, side = _head(tokens)
    values, note = _sections(tokens[2:])
    return build_spec(SignalWords(symbol, side, values, note), for_bots=for_bots)


def build_spec(words: SignalWords, *, for_bots: bool = False) -> SignalSpec:
    """The checked spec, whichever way it was written (this line, or a pasted message)."""
    values, note = words.values, words.note
    _check_counts(values)
    if note is not None:
        check_note(note)
    entry_low, entry_high = _entry(values["entry"][0])
    spec = SignalSpec(
        symbol=words.symbol,
        side=words.side,
        entry_low=entry_low,
        entry_high=entry_high,
        stop_loss=parse_price(values["sl"][0], "sl"),
        take_profits=tuple(parse_price(token, "tp") for token in values["tp"]),
        leverage=_leverage(values),
        timeframe=_timeframe(values),
        note=note,
    )
    _check_levels(spec, values)
    _check_results(spec, values)
    if for_bots:
        _check_for_bots(spec, values)
    return spec


def _check_for_bots(spec: SignalSpec, values: dict[str, list[str]]) -> None:
    """What an auto-trading bot needs to take the signal (bot/signals/cornix.py): a pair
    it can name, prices within 10x of each other, a note it will not read as orders."""
    if cornix.pair(spec.symbol) is None:
        raise SignalSyntaxError(spec.symbol, "syntax.pair", quotes=", ".join(cornix.QUOTES))
    farthest = cornix.too_far(spec)
    if farthest is not None:
        worded = [*values["entry"][0].split("-"), values["sl"][0], *values["tp"]]
        token = next(word for word in worded if Decimal(word) == farthest)
        raise SignalSyntaxError(token, "syntax.price_spread", max=cornix.MAX_PRICE_RATIO)
    word = cornix.bot_word(spec.note, spec.side) if spec.note else None
    if word is not None:
        raise SignalSyntaxError(word, "syntax.note_bot_word", word=word)


def check_note(note: str) -> None:
    """A note (of a signal or an update): bounded, and text that can be stored and sent."""
    if len(note) > MAX_NOTE:
        raise SignalSyntaxError("note", "syntax.note_long", max=MAX_NOTE)
    char = first_unsafe_char(note)
    if char is not None:
        raise SignalSyntaxError("note", "syntax.note_char", code=f"U+{ord(char):04X}")


def _check_results(spec: SignalSpec, values: dict[str, list[str]]) -> None:
    """Every planned exit (the stop, each take-profit) must have a result the track record
    can hold."""
    exits = [(values["sl"][0], spec.stop_loss)]
    exits += zip(values["tp"], spec.take_profits, strict=True)
    for token, price in exits:
        try:
            result_at(spec, price)
        except ResultOutOfRangeError as error:
            raise SignalSyntaxError(token, "syntax.result_range", **error.describe()) from None


def _check_levels(spec: SignalSpec, values: dict[str, list[str]]) -> None:
    """A long needs stop < entry < every take-profit; a short the reverse; TPs in order."""
    tp_tokens = values["tp"]
    if spec.side == "long":
        if spec.stop_loss >= spec.entry_low:
            raise SignalSyntaxError(values["sl"][0], "syntax.long_sl")
        for token, tp in zip(tp_tokens, spec.take_profits, strict=True):
            if tp <= spec.entry_high:
                raise SignalSyntaxError(token, "syntax.long_tp")
        ordered = all(
            a < b for a, b in zip(spec.take_profits, spec.take_profits[1:], strict=False)
        )
    else:
        if spec.stop_loss <= spec.entry_high:
            raise SignalSyntaxError(values["sl"][0], "syntax.short_sl")
        for token, tp in zip(tp_tokens, spec.take_profits, strict=True):
            if tp >= spec.entry_low:
                raise SignalSyntaxError(token, "syntax.short_tp")
        ordered = all(
            a > b for a, b in zip(spec.take_profits, spec.take_profits[1:], strict=False)
        )
    if not ordered:
        raise SignalSyntaxError(" ".join(tp_tokens), "syntax.tp_order")


def plain_number(value: Decimal) -> str:
    """Plain decimal text without exponent or trailing zeros: 65000, 0.0125."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def format_signal(spec: SignalSpec) -> str:
    """The canonical `/signal ...` line for a spec; parse_signal reads it back unchanged."""
    entry = (
        plain_number(spec.entry_low)
        if not spec.is_range
        else (f"{plain_number(spec.entry_low)}-{plain_number(spec.entry_high)}")
    )
    parts = [
        "/signal",
        spec.symbol,
        spec.side,
        "entry",
        entry,
        "sl",
        plain_number(spec.stop_loss),
        "tp",
        *(plain_number(tp) for tp in spec.take_profits),
    ]
    if spec.leverage is not None:
        parts += ["lev", plain_number(spec.leverage)]
    if spec.timeframe:
        parts += ["tf", spec.timeframe]
    if spec.note:
        parts += ["note", spec.note]
    return " ".join(parts)
