"""Signals pasted over several lines (bot/signals/paste.py): the layout auto-trading bots
read and the one most providers post in, read into the same spec as the one-line syntax,
and every mistake named by the word that is wrong."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.signals.paste import is_pasted, parse_pasted, read_signal
from bot.signals.spec import SignalSpec
from bot.signals.syntax import SignalSyntaxError, parse_signal

ONE_LINE = parse_signal("BTC/USDT long entry 65000-65500 sl 63500 tp 67000 69000 lev 5")


@pytest.mark.parametrize(
    "text",
    [
        # The providers' style, as the issue writes it (" / " between the lines) ...
        "BTC/USDT LONG / Entry 65000-65500 / Targets 67000 69000 / SL 63500 / Lev 5x",
        "/signal BTC/USDT LONG / Entry 65000-65500 / Targets 67000 69000 / SL 63500 / Lev 5x",
        # ... and over real lines, after /signal or on its own.
        "/signal\nBTC/USDT LONG\nEntry 65000-65500\nTargets 67000 69000\nSL 63500\nLev 5x",
        "/signal@SignalDeskBot BTC/USDT LONG\nEntry 65000 - 65500\nTP 67000, 69000\n"
        "Stop Loss: 63500\nLeverage 5",
        "btc/usdt long\n\nentry: 65000 – 65500\ntp1: 67000\ntp2: 69000\nstop: 63500\nlev x5",
        # Cornix's form, as our own message reads (its number and margin type accepted).
        "BTC/USDT Long #17\n\nLeverage: Isolated (5x)\nEntry Zone: 65000-65500\n\n"
        "Take-Profit Targets:\n1) 67000\n2) 69000\n\nStop Targets:\n1) 63500",
        # Two entry prices are a zone; the side may be left out (read from the stop).
        "#BTC/USDT\nEntry Targets:\n1) 65500\n2) 65000\nTake Profit 67000 69000\n"
        "StopLoss 63500\nLev 5x",
    ],
)
def test_the_same_signal_however_it_is_pasted(text: str) -> None:
    assert read_signal(text, for_bots=True) == ONE_LINE


def test_a_pasted_signal_keeps_timeframe_and_note() -> None:
    spec = read_signal(
        "ETHUSDT short\nEntry 3400\nTargets 3300 3200\nSL 3520\nTF 4h\n"
        "Note: fade the spike / 50-50"
    )
    assert spec == SignalSpec(
        "ETHUSDT",
        "short",
        Decimal(3400),
        Decimal(3400),
        Decimal(3520),
        (Decimal(3300), Decimal(3200)),
        timeframe="4h",
        note="fade the spike / 50-50",
    )


def test_one_line_is_still_the_one_line_syntax() -> None:
    line = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 note up / down"
    assert read_signal(line).note == "up / down"  # not taken for a pasted signal
    assert not is_pasted("BTCUSDT long entry 65000 sl 63500 tp 67000")
    assert is_pasted("BTC/USDT LONG / Entry 65000") and is_pasted("a\nb")


@pytest.mark.parametrize(
    ("text", "token", "key"),
    [
        ("Entry 65000\nBTC/USDT LONG", "Entry", "syntax.paste_pair_first"),
        ("BTC/USDT LONGER\nEntry 65000", "LONGER", "syntax.paste_head"),
        ("BTC$USDT LONG\nEntry 65000", "BTC$USDT", "syntax.symbol"),
        ("BTC/USDT LONG\nEnrty 65000\nTP 67000\nSL 63500", "Enrty", "syntax.paste_line"),
        ("BTC/USDT LONG\nEntry 65000\nTP 67000\nSL 63500\nwhy not", "why", "syntax.paste_line"),
        (
            "BTC/USDT LONG\nEntry 65000\nTP 67000 69000\nSL 63500 63000",
            "63000",
            "syntax.one_value",
        ),
        ("BTC/USDT LONG\nEntry 65000\nTP 67000\nSL 63500\nSL 63000", "SL", "syntax.twice"),
        ("BTC/USDT LONG\nEntry 65000\nTP 67000", "sl", "syntax.missing"),
        ("BTC/USDT LONG\nEntry 65000\nTP 67,000\nSL 63500", "67,000", "syntax.price_shape"),
        ("BTC/USDT LONG\nEntry 65000\nTP 64000\nSL 63500", "64000", "syntax.long_tp"),
        ("BTC/USDT LONG\nEntry 65000\nTP 67000\nSL 66000", "66000", "syntax.long_sl"),
        ("BTC/USDT\nEntry 1 2 3\nTP 4\nSL 0.5", "3", "syntax.entries_two"),
        ("BTC/USDT\nEntry 2 2\nTP 4\nSL 0.5", "2", "syntax.entry_order"),
        (
            "BTC/USDT LONG\nEntry 65000-64000\nTP 67000\nSL 63500",
            "65000-64000",
            "syntax.entry_order",
        ),
        ("BTC/USDT LONG\nEntry 65000\nTP 67000\nSL 63500\nLev Cross 5x", "Cross", "syntax.margin"),
        ("BTC/USDT LONG\nEntry 65000\nTP 67000\nSL 63500\nLev 500x", "500x", "syntax.leverage"),
        ("BTC/USDT LONG\nEntry 65000\nTP 67000\nSL 63500\nNote:", "Note", "syntax.note_empty"),
    ],
)
def test_a_mistake_is_named_by_its_word(text: str, token: str, key: str) -> None:
    with pytest.raises(SignalSyntaxError) as raised:
        parse_pasted(text)
    assert (raised.value.token, raised.value.key) == (token, key)


@pytest.mark.parametrize(
    ("text", "token", "key"),
    [
        ("XAUT LONG\nEntry 2000\nTP 2100\nSL 1900", "XAUT", "syntax.pair"),
        ("BTC/USDT LONG\nEntry 100\nTP 1200\nSL 90", "1200", "syntax.price_spread"),
        ("BTC/USDT SHORT\nEntry 100\nTP 90\nSL 1001", "1001", "syntax.price_spread"),
        (
            "BTC/USDT LONG\nEntry 100\nTP 120\nSL 90\nNote buy more above 95",
            "buy",
            "syntax.note_bot_word",
        ),
        (
            "BTC/USDT LONG\nEntry 100\nTP 120\nSL 90\nNote no short squeeze",
            "short",
            "syntax.note_bot_word",
        ),
    ],
)
def test_what_bots_need_is_checked_for_cornix_only(text: str, token: str, key: str) -> None:
    with pytest.raises(SignalSyntaxError) as raised:
        parse_pasted(text, for_bots=True)
    assert (raised.value.token, raised.value.key) == (token, key)
    parse_pasted(text)  # SIGNAL_STYLE=classic: no bot reads it, nothing to hold it to
    one_line = text.replace("\n", " ").replace("Entry", "entry").replace("TP", "tp")
    one_line = one_line.replace("SL", "sl").replace("Note", "note").replace(" LONG", " long")
    with pytest.raises(SignalSyntaxError):  # the one-line syntax holds them alike
        parse_signal(one_line.replace(" SHORT", " short"), for_bots=True)


def test_a_long_note_may_say_long() -> None:
    text = "BTC/USDT LONG\nEntry 100\nTP 120\nSL 90\nNote long-term support"
    assert parse_pasted(text, for_bots=True).note == "long-term support"
