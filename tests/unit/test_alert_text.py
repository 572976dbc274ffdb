"""TradingView alerts read as signals and updates (bot/signals/alert_text.py), pure: the text
and JSON forms, what TradingView's placeholders write, the digest that makes the same
alert one alert however it is spaced, and the words at fault."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from bot.core.settings import load_settings
from bot.signals.alert_text import (
    SignalAlert,
    UpdateAlert,
    excerpt,
    interval,
    read_alert,
    symbol_key,
    tradingview_words,
)
from bot.signals.syntax import SignalSyntaxError
from tests.support.harness import BOT_TOKEN

LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000 tf 4h"


def _signal(body: bytes | str, *, for_bots: bool = True) -> SignalAlert:
    alert = read_alert(body.encode() if isinstance(body, str) else body, for_bots=for_bots)
    assert isinstance(alert, SignalAlert)
    return alert


def _update(body: str) -> UpdateAlert:
    alert = read_alert(body.encode(), for_bots=True)
    assert isinstance(alert, UpdateAlert)
    return alert


def test_a_line_of_the_signal_syntax_is_a_signal() -> None:
    spec = _signal(LINE).spec
    assert (spec.symbol, spec.side, spec.entry_low, spec.timeframe) == (
        "BTCUSDT",
        "long",
        Decimal(65000),
        "4h",
    )
    assert spec.take_profits == (Decimal(67000), Decimal(69000))


def test_the_pasted_layout_and_the_json_form_are_the_same_signal() -> None:
    pasted = "BTC/USDT LONG\nEntry 65000\nTargets 67000 69000\nSL 63500\nTF 4h"
    assert _signal(pasted).spec.stop_loss == Decimal(63500)
    wrapped = json.dumps({"signal": LINE, "other": [1, {"x": None}]})
    assert _signal(wrapped).digest == _signal(LINE).digest
    assert _signal(" \n" + json.dumps({"signal": LINE})).spec == _signal(LINE).spec


def test_the_digest_ignores_spacing_and_case_but_not_the_prices() -> None:
    same = "  btcusdt LONG  entry 65000 SL 63500 tp 67000   69000 TF 240 \n"
    assert _signal(same).digest == _signal(LINE).digest
    assert _signal(LINE.replace("65000", "65001")).digest != _signal(LINE).digest
    assert len(_signal(LINE).digest) == 64


@pytest.mark.parametrize(
    ("written", "read"),
    [
        ("BINANCE:BTCUSDT long", "BTCUSDT long"),
        ("BYBIT:ETHUSDT.P sell", "ETHUSDT short"),
        ("btcusdt.p Buy", "btcusdt long"),
        ("BTCUSDT long entry 1 tf 240", "BTCUSDT long entry 1 tf 4h"),
        ("BTCUSDT long TF: 15", "BTCUSDT long TF: 15m"),
        ("BTC/USDT LONG\nEntry 65000\nTimeframe 1D", "BTC/USDT LONG\nEntry 65000\nTimeframe 1d"),
    ],
)
def test_tradingviews_placeholders_are_read_as_the_syntax_writes(written: str, read: str) -> None:
    assert tradingview_words(written) == read


@pytest.mark.parametrize(
    ("value", "timeframe"),
    [
        ("1", "1m"),
        ("15", "15m"),
        ("60", "1h"),
        ("240", "4h"),
        ("D", "1d"),
        ("1D", "1d"),
        ("3D", "3d"),
        ("W", "1w"),
        ("1M", "1mo"),
        ("4h", "4h"),
        ("1m", "1m"),
        ("30S", "30S"),
    ],
)
def test_tradingviews_intervals(value: str, timeframe: str) -> None:
    assert interval(value) == timeframe


def test_a_pair_and_an_update_word_is_an_update() -> None:
    alert = _update("BTC/USDT close 67000 trailing stop")
    assert (alert.symbol, alert.command.kind, alert.command.price) == (
        "BTC/USDT",
        "close",
        Decimal(67000),
    )
    assert alert.command.note == "trailing stop"
    assert _update("BINANCE:BTCUSDT TP2").command.kind == "tp2"
    assert _update("ETHUSDT cancel").command.kind == "cancel"
    assert _update("BTCUSDT tp1").digest == _update("btc/usdt TP1").digest
    assert _update("BTCUSDT tp1").digest != _update("BTCUSDT tp2").digest
    assert _update("BTCUSDT sl").digest != _signal(LINE).digest


def test_symbols_match_however_the_pair_is_written() -> None:
    assert symbol_key("BTC/USDT") == symbol_key("btcusdt") == symbol_key("#BTC-USDT") == "BTCUSDT"


@pytest.mark.parametrize(
    ("body", "token", "key"),
    [
        (b"", "", "syntax.empty"),
        (b"  \n ", "", "syntax.empty"),
        (b"\xff\xfe BTCUSDT", "", "alert.not_text"),
        (b'{"signal": ', "", "alert.not_json"),
        (b'{"signal": NaN}', "", "alert.not_json"),
        (b'{"signal": "BTC\\u0000"}', "", "alert.not_json"),
        (b'{"text": "BTCUSDT long"}', "signal", "alert.json_signal"),
        (b'{"signal": ["BTCUSDT"]}', "signal", "alert.json_signal"),
        (b'{"signal": "  "}', "signal", "alert.json_signal"),
        (b"[1, 2]", "[1,", "syntax.symbol"),  # not an object: read as text
        (b"BTCUSDT long entry 65000 sl 66000 tp 67000", "66000", "syntax.long_sl"),
        (b"BTCUSDT long entry 65000 sl 63500", "tp", "syntax.missing"),
        (b"BTCUSDT tp1 close it all", "close", "syntax.update_exit_word"),
        (b"BTCUSDT close", "close", "syntax.update_close"),
        (b"BTC long entry 2 sl 1 tp 3", "BTC", "syntax.pair"),
    ],
)
def test_what_is_wrong_is_named_as_the_chat_names_it(body: bytes, token: str, key: str) -> None:
    with pytest.raises(SignalSyntaxError) as raised:
        read_alert(body, for_bots=True)
    assert (raised.value.token, raised.value.key) == (token, key)


def test_an_excerpt_is_one_short_line_of_what_can_be_shown() -> None:
    assert excerpt(b"BTCUSDT long\n  entry 1\x00 \xff") == "BTCUSDT long entry 1 \ufffd"
    long = excerpt(b"x" * 5000)
    assert len(long) == 200 and long.endswith("…")


@pytest.mark.parametrize(
    "secret", ["short", "x" * 129, "has space in it 0123", "sl/ash-in-the-secret", "é" * 20]
)
def test_the_secret_is_a_long_url_safe_word(secret: str) -> None:
    with pytest.raises(Exception, match="TRADINGVIEW_SECRET: must be 16-128 characters"):
        load_settings(_env_file=None, bot_token=BOT_TOKEN, tradingview_secret=secret)


def test_the_secret_is_a_secret_and_unset_when_empty() -> None:
    settings = load_settings(
        _env_file=None, bot_token=BOT_TOKEN, tradingview_secret="A-good_secret-0123456789"
    )
    assert settings.tradingview_secret is not None
    assert "A-good_secret-0123456789" not in repr(settings)
    assert "A-good_secret-0123456789" in settings.secret_values()
    assert not settings.alerts_autopublish
    empty = load_settings(_env_file=None, bot_token=BOT_TOKEN, tradingview_secret="")
    assert empty.tradingview_secret is None
