"""The one-line signal syntax: good lines parse to their spec, and format_signal writes
them back."""

from __future__ import annotations

from decimal import Decimal

import pytest

from bot.signals.spec import SignalSpec
from bot.signals.syntax import (
    EXAMPLE,
    format_signal,
    parse_signal,
    plain_number,
)
from tests.unit.signal_syntax_helpers import BTC, BTC_SPEC, D, _spec

# ---------------------------------------------------------------------------------------------
# Good lines
# ---------------------------------------------------------------------------------------------

GOOD = [
    pytest.param(
        "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note free text",
        _spec(
            "BTCUSDT", "long", "65000", "63500", "67000 69000", lev="5", tf="4h", note="free text"
        ),
        id="design-long-full",
    ),
    pytest.param(
        "/signal ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200 3100",
        _spec("ETHUSDT", "short", "3400-3450", "3520", "3300 3200 3100"),
        id="design-short-range",
    ),
    pytest.param(
        "/signal BTCUSDT long ENTRY 65000 Sl 63500 TP 67000 LEV 5 Tf 4H NOTE Keep The Case",
        _spec(
            "BTCUSDT", "long", "65000", "63500", "67000", lev="5", tf="4h", note="Keep The Case"
        ),
        id="keywords-any-case",
    ),
    pytest.param(
        "/SIGNAL ethusdt SHORT entry 3400 sl 3520 tp 3300",
        _spec("ETHUSDT", "short", "3400", "3520", "3300"),
        id="command-symbol-side-any-case",
    ),
    pytest.param(BTC, BTC_SPEC, id="without-prefix"),
    pytest.param(f"/signal@MyBot {BTC}", BTC_SPEC, id="with-bot-username"),
    pytest.param(
        "/signal DOGEUSDT long entry 0.0125 sl 0.0118 tp 0.0131 0.01405",
        _spec("DOGEUSDT", "long", "0.0125", "0.0118", "0.0131 0.01405"),
        id="decimals",
    ),
    pytest.param(
        "/signal PEPEUSDT long entry 0.00000950-0.0000098 sl 0.0000091 tp 0.0000105",
        _spec("PEPEUSDT", "long", "0.0000095-0.0000098", "0.0000091", "0.0000105"),
        id="decimal-range-8-places",
    ),
    pytest.param(
        "/signal SOLUSDT short entry 150 sl 160 tp 140 lev 10x",
        _spec("SOLUSDT", "short", "150", "160", "140", lev="10"),
        id="lev-10x",
    ),
    pytest.param(
        f"{BTC} lev 2.5X",
        _spec("BTCUSDT", "long", "65000", "63500", "67000", lev="2.5"),
        id="lev-fractional-upper-x",
    ),
    pytest.param(
        f"{BTC} lev 1", _spec("BTCUSDT", "long", "65000", "63500", "67000", lev="1"), id="lev-min"
    ),
    pytest.param(
        f"{BTC} lev 200",
        _spec("BTCUSDT", "long", "65000", "63500", "67000", lev="200"),
        id="lev-max",
    ),
    pytest.param(
        f"{BTC} note move sl to entry after tp 1; lev 3 tf 1d entry note",
        _spec(
            "BTCUSDT",
            "long",
            "65000",
            "63500",
            "67000",
            note="move sl to entry after tp 1; lev 3 tf 1d entry note",
        ),
        id="note-keeps-keywords-as-text",
    ),
    pytest.param(
        "  /signal   BTCUSDT  long   entry  65000   sl 63500  tp   67000    69000"
        "   note  free   text  ",
        _spec("BTCUSDT", "long", "65000", "63500", "67000 69000", note="free text"),
        id="extra-spaces",
    ),
    pytest.param(
        "BTCUSDT long\nentry 65000\tsl 63500 tp 67000",
        BTC_SPEC,
        id="tabs-and-newlines",
    ),
    pytest.param(
        "/signal BTCUSDT long tf 15m tp 67000 69000 lev 3 sl 63500 entry 64000-65000",
        _spec("BTCUSDT", "long", "64000-65000", "63500", "67000 69000", lev="3", tf="15m"),
        id="sections-in-any-order",
    ),
    pytest.param(
        "/signal btc/usdt long entry 65000 sl 63500 tp 67000 tf 1mo",
        _spec("BTC/USDT", "long", "65000", "63500", "67000", tf="1mo"),
        id="symbol-with-slash-timeframe-month",
    ),
    pytest.param(
        "/signal 1000PEPE-PERP short entry 12.5 sl 13 tp 12 tf 1W",
        _spec("1000PEPE-PERP", "short", "12.5", "13", "12", tf="1w"),
        id="symbol-with-digits-and-dash",
    ),
    pytest.param(
        "/signal BTCUSDT long entry 100 sl 90 tp " + " ".join(str(101 + i) for i in range(10)),
        _spec("BTCUSDT", "long", "100", "90", " ".join(str(101 + i) for i in range(10))),
        id="ten-take-profits",
    ),
    pytest.param(
        "/signal BTCUSDT long entry 65000.50 sl 063500 tp 67000.000",
        _spec("BTCUSDT", "long", "65000.5", "63500", "67000"),
        id="trailing-and-leading-zeros",
    ),
]


@pytest.mark.parametrize(("text", "expected"), GOOD)
def test_good_lines(text: str, expected: SignalSpec) -> None:
    spec = parse_signal(text)
    assert spec == expected
    # Dataclass equality compares Decimals by value; compare the fields one by one as well so
    # a failure names the field.
    assert spec.symbol == expected.symbol
    assert spec.side == expected.side
    assert (spec.entry_low, spec.entry_high) == (expected.entry_low, expected.entry_high)
    assert spec.stop_loss == expected.stop_loss
    assert spec.take_profits == expected.take_profits
    assert spec.leverage == expected.leverage
    assert spec.timeframe == expected.timeframe
    assert spec.note == expected.note


def test_example_constant_parses() -> None:
    spec = parse_signal(EXAMPLE)
    assert spec == _spec("BTCUSDT", "long", "65000", "63500", "67000 69000", lev="5", tf="4h")


def test_entry_mid_and_range() -> None:
    single = parse_signal(BTC)
    assert not single.is_range
    assert single.entry_mid == D(65000)
    ranged = parse_signal("ETHUSDT short entry 3400-3450 sl 3520 tp 3300")
    assert ranged.is_range
    assert ranged.entry_mid == D(3425)


@pytest.mark.parametrize(
    ("spec", "line"),
    [
        pytest.param(
            _spec(
                "BTCUSDT",
                "long",
                "65000",
                "63500",
                "67000 69000",
                lev="5",
                tf="4h",
                note="free text",
            ),
            "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note free text",
            id="design-long",
        ),
        pytest.param(
            _spec("ETHUSDT", "short", "3400-3450", "3520", "3300 3200 3100"),
            "/signal ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200 3100",
            id="design-short",
        ),
        pytest.param(
            SignalSpec(
                symbol="DOGEUSDT",
                side="long",
                entry_low=D("0.012500"),
                entry_high=D("0.012500"),
                stop_loss=D("1.18E-2"),
                take_profits=(D("1E+3"), D("2000.000")),
                leverage=D("2.50"),
            ),
            "/signal DOGEUSDT long entry 0.0125 sl 0.0118 tp 1000 2000 lev 2.5",
            id="plain-numbers",
        ),
    ],
)
def test_format_signal_is_canonical(spec: SignalSpec, line: str) -> None:
    assert format_signal(spec) == line
    assert parse_signal(line) == spec


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (D("65000"), "65000"),
        (D("65000.000"), "65000"),
        (D("0.0125"), "0.0125"),
        (D("1E+3"), "1000"),
        (D("1.5E-7"), "0.00000015"),
        (D("10.10"), "10.1"),
    ],
)
def test_plain_number(value: Decimal, text: str) -> None:
    assert plain_number(value) == text
