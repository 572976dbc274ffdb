"""The one-line signal syntax: parse_signal / format_signal, and parse_update for /update."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bot.signals.results import ResultOutOfRangeError, result_at
from bot.signals.spec import SignalSpec
from bot.signals.syntax import (
    EXAMPLE,
    MAX_TAKE_PROFITS,
    SignalSyntaxError,
    format_signal,
    parse_signal,
    plain_number,
)
from bot.signals.updates import UpdateCommand, parse_update
from bot.texts import plain

D = Decimal

# No example database: it would leave a .hypothesis/ directory in the working tree.
PROPERTY = settings(deadline=None, database=None)  # examples: the profile's (support/harness.py)


def shown(error: SignalSyntaxError) -> str:
    """What the admin reads for the error (the catalogue's text)."""
    return plain(error.key, **error.params)


def _spec(
    symbol: str,
    side: str,
    entry: str,
    sl: str,
    tps: str,
    *,
    lev: str | None = None,
    tf: str | None = None,
    note: str | None = None,
) -> SignalSpec:
    """A spec from the same words one would type: entry "3400-3450", tps "3300 3200"."""
    low, _, high = entry.partition("-")
    return SignalSpec(
        symbol=symbol,
        side=side,
        entry_low=D(low),
        entry_high=D(high or low),
        stop_loss=D(sl),
        take_profits=tuple(D(tp) for tp in tps.split()),
        leverage=None if lev is None else D(lev),
        timeframe=tf,
        note=note,
    )


BTC = "BTCUSDT long entry 65000 sl 63500 tp 67000"
BTC_SPEC = _spec("BTCUSDT", "long", "65000", "63500", "67000")
ETH = "ETHUSDT short entry 3400 sl 3520 tp 3300"

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


# ---------------------------------------------------------------------------------------------
# Properties: every valid spec formats to a line that parses back to it
# ---------------------------------------------------------------------------------------------

SYMBOL_ALPHABET = string.ascii_uppercase + string.digits
TIMEFRAMES = ["1m", "5m", "15m", "30m", "1h", "4h", "12h", "1d", "3d", "1w", "2w", "1mo"]
KEYWORDS = ("entry", "sl", "tp", "lev", "tf", "note")


@st.composite
def prices(draw: st.DrawFn) -> Decimal:
    """A positive price with 0..8 decimal places, 0.00000001 .. 99,999,999,999; sometimes in
    a non-canonical Decimal form (trailing zeros, exponent) to exercise plain_number."""
    mantissa = draw(st.integers(min_value=1, max_value=10**11 - 1))
    places = draw(st.integers(min_value=0, max_value=8))
    value = D(mantissa).scaleb(-places)
    form = draw(st.sampled_from(["as-is", "normalized", "padded"]))
    if form == "normalized":
        return value.normalize()
    if form == "padded":
        return value.quantize(D("1E-10"))
    return value


note_words = st.one_of(
    st.sampled_from([*KEYWORDS, "TP", "SL", "Note", "long", "short", "/signal", "1", "4h"]),
    st.text(
        alphabet=st.characters(blacklist_categories=("C", "Z")),  # printable, no whitespace
        min_size=1,
        max_size=12,
    ),
)


@st.composite
def valid_specs(draw: st.DrawFn) -> SignalSpec:
    side = draw(st.sampled_from(["long", "short"]))
    entries = 2 if draw(st.booleans()) else 1
    tps = draw(st.integers(min_value=1, max_value=MAX_TAKE_PROFITS))
    size = 1 + entries + tps
    levels = sorted(draw(st.lists(prices(), min_size=size, max_size=size, unique=True)))
    if side == "short":
        levels.reverse()  # stop highest, then the entry, then take-profits going down
    stop, entry, take_profits = levels[0], levels[1 : 1 + entries], levels[1 + entries :]
    leverage = draw(
        st.none()
        | st.integers(min_value=1, max_value=200).map(D)
        | st.decimals(min_value=1, max_value=200, places=2)
    )
    note_parts = draw(st.none() | st.lists(note_words, min_size=1, max_size=20))
    spec = SignalSpec(
        symbol=draw(st.text(alphabet=SYMBOL_ALPHABET, min_size=2, max_size=20)),
        side=side,
        entry_low=min(entry),
        entry_high=max(entry),
        stop_loss=stop,
        take_profits=tuple(take_profits),
        leverage=leverage,
        timeframe=draw(st.none() | st.sampled_from(TIMEFRAMES)),
        note=None if note_parts is None else " ".join(note_parts),
    )
    # Levels whose results no track record can hold are refused by design (tested above).
    assume(all(_result_fits(spec, price) for price in (spec.stop_loss, *spec.take_profits)))
    return spec


def _result_fits(spec: SignalSpec, price: Decimal) -> bool:
    try:
        result_at(spec, price)
    except ResultOutOfRangeError:
        return False
    return True


def _upper_keywords(line: str) -> str:
    """Upper-case the command, side, keywords and timeframe, never the note text."""
    words = line.split(" ")
    out: list[str] = []
    for index, word in enumerate(words):
        if word == "note" and index > 2:
            out.append("NOTE")
            out.extend(words[index + 1 :])
            break
        if word in KEYWORDS or word in {"/signal", "long", "short"} or word in TIMEFRAMES:
            out.append(word.upper())
        else:
            out.append(word)
    return " ".join(out)


@PROPERTY
@given(valid_specs())
def test_format_then_parse_round_trips(spec: SignalSpec) -> None:
    assert parse_signal(format_signal(spec)) == spec


@PROPERTY
@given(valid_specs())
def test_formatting_is_idempotent(spec: SignalSpec) -> None:
    line = format_signal(spec)
    assert format_signal(parse_signal(line)) == line


@PROPERTY
@given(valid_specs())
def test_keywords_are_case_insensitive(spec: SignalSpec) -> None:
    line = format_signal(spec)
    shouted = _upper_keywords(line)
    assert parse_signal(shouted) == parse_signal(line) == spec
    without_command = shouted.removeprefix("/SIGNAL ")
    assert parse_signal(without_command) == spec


_soup_words = st.one_of(
    st.sampled_from([*KEYWORDS, "long", "short", "LONG", "x", "-", "", "4h", "1mo"]),
    st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,3})?(-[0-9]{1,4})?x?\Z"),
    st.text(max_size=8),
)


@PROPERTY
@given(
    st.sampled_from(["", "/signal ", "BTCUSDT long ", "/signal@Bot ETHUSDT short "]),
    st.lists(_soup_words, max_size=16),
)
def test_any_text_gives_a_spec_or_a_syntax_error(prefix: str, words: list[str]) -> None:
    text = prefix + " ".join(words)
    try:
        spec = parse_signal(text)
    except SignalSyntaxError as error:
        assert isinstance(error.token, str)
        assert shown(error)
        return
    # Whatever is accepted is consistent and survives a round trip.
    if spec.side == "long":
        assert spec.stop_loss < spec.entry_low <= spec.entry_high < spec.take_profits[0]
        assert list(spec.take_profits) == sorted(set(spec.take_profits))
    else:
        assert spec.take_profits[0] < spec.entry_low <= spec.entry_high < spec.stop_loss
        assert list(spec.take_profits) == sorted(set(spec.take_profits), reverse=True)
    assert parse_signal(format_signal(spec)) == spec


# ---------------------------------------------------------------------------------------------
# /update
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("17 tp1", UpdateCommand(17, "tp1", None, None)),
        ("17 tp2 69500 partial fill", UpdateCommand(17, "tp2", D("69500"), "partial fill")),
        ("#17 sl", UpdateCommand(17, "sl", None, None)),
        ("17 close 66000 taking profit", UpdateCommand(17, "close", D("66000"), "taking profit")),
        ("17 cancel news", UpdateCommand(17, "cancel", None, "news")),
        ("/update 17 tp1", UpdateCommand(17, "tp1", None, None)),
        ("/update@MyBot 17 TP10 0.0131", UpdateCommand(17, "tp10", D("0.0131"), None)),
        ("17 SL 63000.5 stopped out", UpdateCommand(17, "sl", D("63000.5"), "stopped out")),
        ("17 tp1 hit early", UpdateCommand(17, "tp1", None, "hit early")),
        ("17 close 66000", UpdateCommand(17, "close", D("66000"), None)),
        ("17 CANCEL", UpdateCommand(17, "cancel", None, None)),
        ("17 cancel 5 min before news", UpdateCommand(17, "cancel", None, "5 min before news")),
        (
            "  17   close  66000   taking   profit ",
            UpdateCommand(17, "close", D(66000), "taking profit"),
        ),
    ],
)
def test_parse_update_good(text: str, expected: UpdateCommand) -> None:
    assert parse_update(text) == expected


@pytest.mark.parametrize(
    ("text", "token", "problem"),
    [
        ("", "", "which signal"),
        ("/update", "", "which signal"),
        ("abc tp1", "abc", "the signal number must be a whole number"),
        ("-17 tp1", "-17", "whole number"),
        ("17.5 tp1", "17.5", "whole number"),
        ("#", "#", "whole number"),
        ("17", "17", "say what happened"),
        ("17 foo", "foo", "expected tp1, tp2.., sl, close or cancel"),
        ("17 tp0", "tp0", "expected tp1"),
        ("17 close", "close", "close needs the exit price"),
        ("17 close abc", "abc", "close price must be a positive number"),
        ("17 close 0", "0", "close price must be greater than zero"),
        ("17 sl 1,000", "1,000", "sl price must be a positive number"),
    ],
)
def test_parse_update_bad(text: str, token: str, problem: str) -> None:
    """Each bad /update names the offending word."""
    with pytest.raises(SignalSyntaxError) as caught:
        parse_update(text)
    assert caught.value.token == token
    assert problem in shown(caught.value)


def test_parse_update_non_ascii_digit_is_a_syntax_error() -> None:
    with pytest.raises(SignalSyntaxError) as caught:
        parse_update("² tp1")
    assert caught.value.token == "²"


def test_parse_update_rejects_an_id_too_large_for_the_database() -> None:
    with pytest.raises(SignalSyntaxError) as caught:
        parse_update("99999999999999999999 tp1")
    assert caught.value.token == "99999999999999999999"


@PROPERTY
@given(
    st.sampled_from(["", "17 ", "/update #3 ", "9 tp", "9 close ", "9 sl "]),
    st.text(alphabet=string.printable, max_size=40),
)
def test_any_ascii_update_gives_a_command_or_a_syntax_error(prefix: str, text: str) -> None:
    try:
        command = parse_update(prefix + text)
    except SignalSyntaxError as error:
        assert shown(error)
        return
    assert command.signal_id >= 0
    assert command.kind in {"sl", "close", "cancel"} or command.kind.startswith("tp")
    assert command.note is None or (command.note and command.note == command.note.strip())
    if command.kind == "close":
        assert command.price is not None
