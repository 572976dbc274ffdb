"""The signal syntax's properties (every valid spec formats to a line that parses back to
it), and parse_update for /update."""

from __future__ import annotations

import string
from decimal import Decimal

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.signals.results import ResultOutOfRangeError, result_at
from bot.signals.spec import SignalSpec
from bot.signals.syntax import (
    MAX_TAKE_PROFITS,
    SignalSyntaxError,
    format_signal,
    parse_signal,
)
from bot.signals.updates import UpdateCommand, parse_update
from tests.unit.signal_syntax_helpers import PROPERTY, D, shown

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
