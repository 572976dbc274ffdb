"""The one-line signal syntax: a bad line's error names the offending token and says what
is wrong."""

from __future__ import annotations

import pytest

from bot.signals.syntax import (
    MAX_TAKE_PROFITS,
    SignalSyntaxError,
    parse_signal,
)
from tests.unit.signal_syntax_helpers import BTC, shown

# ---------------------------------------------------------------------------------------------
# Bad lines: the error names the offending token and says what is wrong
# ---------------------------------------------------------------------------------------------

BAD = [
    pytest.param("", "", "the signal is empty", id="empty"),
    pytest.param("   ", "", "the signal is empty", id="blank"),
    pytest.param("/signal", "", "the signal is empty", id="command-only"),
    pytest.param("/signal BTC$USDT long entry 1 sl 0.5 tp 2", "BTC$USDT", "symbol", id="symbol"),
    pytest.param("/signal B long entry 1 sl 0.5 tp 2", "B", "symbol", id="symbol-too-short"),
    pytest.param("/signal BTCUSDT", "BTCUSDT", "long or short", id="no-side-at-all"),
    pytest.param(
        "/signal BTCUSDT entry 65000 sl 63500 tp 67000", "entry", "long or short", id="no-side"
    ),
    pytest.param(
        "/signal BTCUSDT sideways entry 65000 sl 63500 tp 67000",
        "sideways",
        "the side must be long or short",
        id="side-sideways",
    ),
    pytest.param("BTCUSDT long sl 63500 tp 67000", "entry", "entry is missing", id="no-entry"),
    pytest.param("BTCUSDT long entry 65000 tp 67000", "sl", "sl is missing", id="no-sl"),
    pytest.param("BTCUSDT long entry 65000 sl 63500", "tp", "tp is missing", id="no-tp"),
    pytest.param(
        "BTCUSDT long entry sl 63500 tp 67000", "entry", "needs a value", id="entry-empty"
    ),
    pytest.param("BTCUSDT long entry 65000 sl 63500 tp", "tp", "needs a value", id="tp-empty"),
    pytest.param(f"{BTC} lev tf 4h", "lev", "lev needs a value", id="lev-empty"),
    pytest.param(f"{BTC} SL 63000", "SL", "sl is given twice", id="sl-twice"),
    pytest.param(f"{BTC} tp 69000", "tp", "tp is given twice", id="tp-twice"),
    pytest.param(f"{BTC} lev 5 lev 5", "lev", "lev is given twice", id="lev-twice"),
    pytest.param(
        "BTCUSDT long entry abc sl 63500 tp 67000",
        "abc",
        "entry must be a positive number",
        id="price-abc",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl -5 tp 67000",
        "-5",
        "sl must be a positive number",
        id="price-negative",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl 0 tp 67000", "0", "sl must be greater than zero", id="zero"
    ),
    pytest.param(
        "BTCUSDT long entry 0.000 sl 0 tp 67000",
        "0.000",
        "entry must be greater than zero",
        id="zero-decimal",
    ),
    pytest.param(
        "BTCUSDT long entry 1,000 sl 900 tp 1100",
        "1,000",
        "entry must be a positive number",
        id="thousands-comma",
    ),
    pytest.param("BTCUSDT long entry 1e3 sl 900 tp 1100", "1e3", "positive number", id="exponent"),
    pytest.param(
        "BTCUSDT long entry 1 sl 0.00000000001 tp 2",
        "0.00000000001",
        "positive number",
        id="too-many-decimals",
    ),
    pytest.param(
        "ETHUSDT short entry 3450-3400 sl 3520 tp 3300",
        "3450-3400",
        "an entry range goes from low to high",
        id="range-reversed",
    ),
    pytest.param(
        "ETHUSDT short entry 3400-3400 sl 3520 tp 3300",
        "3400-3400",
        "from low to high",
        id="range-empty",
    ),
    pytest.param(
        "ETHUSDT short entry 3400-abc sl 3520 tp 3300",
        "abc",
        "entry must be a positive number",
        id="range-bad-high",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl 66000 tp 67000",
        "66000",
        "for a long, sl must be below the entry",
        id="long-sl-above-entry",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl 65000 tp 67000",
        "65000",
        "sl must be below the entry",
        id="long-sl-at-entry",
    ),
    pytest.param(
        "BTCUSDT long entry 64000-66000 sl 65000 tp 67000",
        "65000",
        "sl must be below the entry",
        id="long-sl-inside-range",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl 63500 tp 67000 64000",
        "64000",
        "for a long, every tp must be above the entry",
        id="long-tp-below-entry",
    ),
    pytest.param(
        "BTCUSDT long entry 64000-66000 sl 63500 tp 65000",
        "65000",
        "every tp must be above the entry",
        id="long-tp-inside-range",
    ),
    pytest.param(
        "ETHUSDT short entry 3400 sl 3300 tp 3200",
        "3300",
        "for a short, sl must be above the entry",
        id="short-sl-below-entry",
    ),
    pytest.param(
        "ETHUSDT short entry 3400-3450 sl 3420 tp 3300",
        "3420",
        "sl must be above the entry",
        id="short-sl-inside-range",
    ),
    pytest.param(
        "ETHUSDT short entry 3400 sl 3520 tp 3300 3450",
        "3450",
        "for a short, every tp must be below the entry",
        id="short-tp-above-entry",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl 63500 tp 69000 67000",
        "69000 67000",
        "take-profits must be in order, nearest first",
        id="long-tps-out-of-order",
    ),
    pytest.param(
        "ETHUSDT short entry 3400 sl 3520 tp 3100 3300 3200",
        "3100 3300 3200",
        "take-profits must be in order",
        id="short-tps-out-of-order",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl 63500 tp 67000 67000",
        "67000 67000",
        "take-profits must be in order",
        id="tps-repeated",
    ),
    pytest.param(f"{BTC} lev 0", "0", "lev must be greater than zero", id="lev-0"),
    pytest.param(f"{BTC} lev 500", "500", "leverage must be between 1 and 200", id="lev-500"),
    pytest.param(f"{BTC} lev 0.5", "0.5", "between 1 and 200", id="lev-below-1"),
    pytest.param(f"{BTC} lev 200.01x", "200.01x", "between 1 and 200", id="lev-above-200"),
    pytest.param(f"{BTC} lev abc", "abc", "lev must be a positive number", id="lev-abc"),
    pytest.param(f"{BTC} tf 4 hours", "hours", "tf takes one value", id="tf-4-hours"),
    pytest.param(f"{BTC} tf 4hours", "4hours", "timeframe looks like", id="tf-4hours"),
    pytest.param(f"{BTC} tf h4", "h4", "timeframe looks like", id="tf-h4"),
    pytest.param(f"{BTC} note", "note", "note needs some text after it", id="note-empty"),
    pytest.param(f"{BTC} NOTE   ", "NOTE", "note needs some text", id="note-blank"),
    pytest.param(f"{BTC} note {'x' * 501}", "note", "longer than 500", id="note-too-long"),
    pytest.param(
        "BTCUSDT long entry 100 sl 90 tp " + " ".join(str(101 + i) for i in range(11)),
        "111",
        f"at most {MAX_TAKE_PROFITS} take-profits",
        id="eleven-take-profits",
    ),
    pytest.param(
        "/signal BTCUSDT long now entry 65000 sl 63500 tp 67000",
        "now",
        "expected entry, sl or tp here",
        id="stray-word",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 sl 63500 63000 tp 67000",
        "63000",
        "sl takes one value",
        id="sl-two-values",
    ),
    pytest.param(
        "BTCUSDT long entry 65000 65100 sl 63500 tp 67000",
        "65100",
        "entry takes one value",
        id="entry-two-values",
    ),
    pytest.param(
        "BTCUSDT long entry -5 sl 63500 tp 67000",
        "-5",
        "entry must be a positive number",
        id="entry-negative",
    ),
    pytest.param(
        "BTCUSDT long entry 65000- sl 63500 tp 67000",
        "65000-",
        "entry",
        id="entry-range-missing-high",
    ),
    pytest.param(
        f"{BTC} lev 0x",
        "0x",
        "lev must be greater than zero",
        id="lev-0x",
    ),
    pytest.param(
        f"{BTC} lev x",
        "x",
        "lev must be a positive number",
        id="lev-x",
    ),
]


@pytest.mark.parametrize(("text", "token", "problem"), BAD)
def test_bad_lines(text: str, token: str, problem: str) -> None:
    with pytest.raises(SignalSyntaxError) as caught:
        parse_signal(text)
    error = caught.value
    assert isinstance(error, ValueError)
    assert error.token == token
    assert problem in shown(error)
    assert str(error).startswith(f"{token!r}: {error.key}")
