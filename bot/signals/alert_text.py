"""TradingView's alert messages read as a signal or as an update (pure).

An alert's message is what the provider typed in TradingView's alert dialog, its
placeholders ({{ticker}}, {{close}}, {{interval}}, ...) filled in when it fires:

    {{ticker}} long entry {{close}} sl {{plot_0}} tp {{plot_1}} {{plot_2}} tf {{interval}}
    {"signal": "{{ticker}} short entry {{close}} sl ... tp ..."}
    BTCUSDT tp1            BTC/USDT close 67000 trailing stop hit

Plain text is the `/signal` syntax without the command (bot/signals/syntax.py), or a
signal over several lines (bot/signals/paste.py); a JSON object carries that text in its
`signal` field. A line of a pair and tp1.., sl, close PRICE or cancel is an update for
the newest open signal of that pair (bot/signals/updates.py's words after the number).
What TradingView's placeholders write is read as they write it: an exchange before the
ticker (BINANCE:BTCUSDT), a perpetual's .P (BTCUSDT.P), buy or sell for the side
({{strategy.order.action}}), an interval in minutes or D, W, M (240, 1D) after tf.

Each reading has a digest of its normalised words: the same alert, however spaced or
cased, has the same digest (the dedupe window of bot/signals/alerts.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from bot.core.safe_input import UnsafeInputError, parse_json, strip_unsafe
from bot.signals.paste import read_signal
from bot.signals.spec import SignalSpec
from bot.signals.syntax import SignalSyntaxError, check_symbol, format_signal, plain_number
from bot.signals.updates import UpdateCommand, parse_update

# The JSON field holding the alert's text.
JSON_FIELD = "signal"
JSON_EXAMPLE = '{"signal": "BTCUSDT long entry 65000 sl 63500 tp 67000"}'
_UPDATE_WORD = re.compile(r"^(tp[1-9][0-9]?|sl|close|cancel)$", re.IGNORECASE)
_EXCHANGE = re.compile(r"^[A-Za-z0-9_]{1,32}:(?=\S)")  # BINANCE:BTCUSDT
_PERPETUAL = re.compile(r"\.P$", re.IGNORECASE)  # BTCUSDT.P
_SIDES = {"buy": "long", "sell": "short"}
_TIMEFRAME = re.compile(r"(?i)(\b(?:tf|time\s*frame)\s*:?[ \t]+)(\S+)")
_MINUTES = re.compile(r"^[0-9]{1,5}$")
_PERIODS = re.compile(r"^([0-9]{0,3})([DWM])$")  # case matters: 1M is a month, 1m a minute
_PERIOD_UNITS = {"D": "d", "W": "w", "M": "mo"}
MINUTES_IN_HOUR = 60
EXCERPT = 200  # characters of a refused alert shown to the admins
_SEPARATORS = re.compile(r"[/_.-]")


@dataclass(frozen=True, slots=True)
class SignalAlert:
    """An alert that is a new signal."""

    spec: SignalSpec
    digest: str


@dataclass(frozen=True, slots=True)
class UpdateAlert:
    """An alert about the newest open signal of `symbol` (the command's id stands in
    until the service finds that signal)."""

    symbol: str
    command: UpdateCommand
    digest: str


def read_alert(raw: bytes, *, for_bots: bool = False) -> SignalAlert | UpdateAlert:
    """The alert's body as a signal or an update; SignalSyntaxError names what is wrong."""
    text = tradingview_words(alert_text(raw))
    first = text.strip().split()
    if "\n" not in text.strip() and len(first) > 1 and _UPDATE_WORD.match(first[1]):
        return _update(first, for_bots=for_bots)
    spec = read_signal(text, for_bots=for_bots)
    return SignalAlert(spec, digest("signal", format_signal(spec)))


def alert_text(raw: bytes) -> str:
    """The alert's text: the body, or the `signal` field of a JSON body."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SignalSyntaxError("", "alert.not_text") from None
    if not text.lstrip().startswith("{"):
        if not text.strip():
            raise SignalSyntaxError("", "syntax.empty")
        return text
    try:
        value = parse_json(raw)
    except UnsafeInputError:
        raise SignalSyntaxError("", "alert.not_json") from None
    field = value.get(JSON_FIELD) if isinstance(value, dict) else None
    if not isinstance(field, str) or not field.strip():
        raise SignalSyntaxError(JSON_FIELD, "alert.json_signal", example=JSON_EXAMPLE)
    return field


def tradingview_words(text: str) -> str:
    """What TradingView's placeholders write, as the signal syntax reads it: the pair
    without its exchange or .P, buy or sell as long or short, tf 240 as tf 4h."""
    head, newline, rest = text.lstrip().partition("\n")
    words = head.split(maxsplit=2)
    if words:
        words[0] = _PERPETUAL.sub("", _EXCHANGE.sub("", words[0]))
    if len(words) > 1:
        words[1] = _SIDES.get(words[1].lower(), words[1])
    return _TIMEFRAME.sub(_timeframe, " ".join(words) + newline + rest)


def _timeframe(match: re.Match[str]) -> str:
    return match.group(1) + interval(match.group(2))


def interval(value: str) -> str:
    """TradingView's {{interval}} (240, 1D, W, 1M) as the syntax writes a timeframe (4h,
    1d, 1w, 1mo); anything else as it was, for the syntax to judge."""
    if _MINUTES.match(value):
        minutes = int(value)
        if minutes and minutes % MINUTES_IN_HOUR == 0:
            return f"{minutes // MINUTES_IN_HOUR}h"
        return f"{minutes}m"
    period = _PERIODS.match(value)
    if period:
        return f"{period.group(1) or 1}{_PERIOD_UNITS[period.group(2)]}"
    return value


def symbol_key(symbol: str) -> str:
    """A pair however it is written (BTCUSDT, BTC/USDT, #btc-usdt): what an update alert's
    pair and a stored signal's symbol are matched on."""
    return _SEPARATORS.sub("", symbol.upper().lstrip("#"))


def _update(words: list[str], *, for_bots: bool) -> UpdateAlert:
    symbol = check_symbol(words[0].lstrip("#"))
    # parse_update reads `/update ID ...`; the id is found later, by the pair.
    command = parse_update(" ".join(["1", *words[1:]]), for_bots=for_bots)
    price = plain_number(command.price) if command.price is not None else ""
    said = f"{symbol_key(symbol)} {command.kind} {price} {command.note or ''}"
    return UpdateAlert(symbol, command, digest("update", said))


def excerpt(raw: bytes, limit: int = EXCERPT) -> str:
    """The start of an alert's body as text that can be shown (to admins, of a refused
    alert): undecodable bytes and control characters left out, one line."""
    text = strip_unsafe(raw[: limit * 4].decode("utf-8", "replace"))
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def digest(kind: str, canonical: str) -> str:
    """The dedupe key of an alert (or a problem) whose normalised words are `canonical`."""
    return hashlib.sha256(f"{kind}\n{canonical}".encode()).hexdigest()
