"""Signals in SIGNAL_STYLE=cornix: a golden corpus of hand-written messages, each read back
by a reader written from Cornix's published rules (tests/support/cornix_reader.py), and a property
test over generated signals in every language: render, read, the same signal."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from html.parser import HTMLParser

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.core.languages import LANGUAGES
from bot.signals import cornix as rules
from bot.signals.paste import parse_pasted
from bot.signals.spec import SignalSpec
from bot.signals.syntax import SignalSyntaxError, format_signal, parse_signal
from bot.texts import CATALOGUE
from bot.texts import signals as texts
from tests.support.cornix_reader import ReadSignal, Unreadable, plain_text, read_signal

# One-line signal, its number, the message subscribers get (written out by hand).
GOLDEN = [
    (
        "BTCUSDT long entry 65000-65500 sl 63500 tp 67000 69000 lev 5 tf 4h note retest",
        17,
        "<b>BTC/USDT</b> Long #17\n"
        "Timeframe: 4h\n"
        "Note: retest\n"
        "\n"
        "<b>Leverage:</b> Isolated (5x)\n"
        "<b>Entry Zone:</b> 65000-65500\n"
        "\n"
        "<b>Take-Profit Targets:</b>\n"
        "1) 67000\n"
        "2) 69000\n"
        "\n"
        "<b>Stop Targets:</b>\n"
        "1) 63500",
    ),
    (
        "ETHUSDT short entry 3400 sl 3520 tp 3300 3200 3100",
        3,
        "<b>ETH/USDT</b> Short #3\n"
        "\n"
        "<b>Entry Targets:</b>\n"
        "1) 3400\n"
        "\n"
        "<b>Take-Profit Targets:</b>\n"
        "1) 3300\n"
        "2) 3200\n"
        "3) 3100\n"
        "\n"
        "<b>Stop Targets:</b>\n"
        "1) 3520",
    ),
    (
        "1000PEPEUSDT long entry 0.00001234 sl 0.0000115 tp 0.0000135 lev 20x",
        250,
        "<b>1000PEPE/USDT</b> Long #250\n"
        "\n"
        "<b>Leverage:</b> Isolated (20x)\n"
        "<b>Entry Targets:</b>\n"
        "1) 0.00001234\n"
        "\n"
        "<b>Take-Profit Targets:</b>\n"
        "1) 0.0000135\n"
        "\n"
        "<b>Stop Targets:</b>\n"
        "1) 0.0000115",
    ),
    (
        "eth/btc short entry 0.052-0.053 sl 0.056 tp 0.05 note a & b <i>",
        9,
        "<b>ETH/BTC</b> Short #9\n"
        "Note: a &amp; b &lt;i&gt;\n"
        "\n"
        "<b>Entry Zone:</b> 0.052-0.053\n"
        "\n"
        "<b>Take-Profit Targets:</b>\n"
        "1) 0.05\n"
        "\n"
        "<b>Stop Targets:</b>\n"
        "1) 0.056",
    ),
]


def expected(spec: SignalSpec) -> ReadSignal:
    """What the reader must find for `spec`."""
    entries = (spec.entry_low, spec.entry_high) if spec.is_range else (spec.entry_low,)
    return ReadSignal(
        pair=rules.pair(spec.symbol) or "",
        side=spec.side,
        entries=entries,
        zone=spec.is_range,
        targets=spec.take_profits,
        stop=spec.stop_loss,
        leverage=spec.leverage,
        margin=rules.MARGIN if spec.leverage is not None else None,
    )


@pytest.mark.parametrize(("line", "number", "message"), GOLDEN, ids=lambda v: str(v)[:20])
def test_golden_messages(line: str, number: int, message: str) -> None:
    spec = parse_signal(line, for_bots=True)
    with CATALOGUE.use_locale("en"):
        assert texts.body(spec, number, style="cornix") == message
    assert read_signal(message) == expected(spec)


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ("BTC/USDT\nEntry Zone: 100-110\nTake-Profit: 120\nStop: 105", "the stop is among"),
        ("BTC/USDT Short\nEntry: 100\nTP: 90\nStop: 95", "side"),
        ("BTC/USDT\nEntry: 100\nTP: 1200\nStop: 95", "10x apart"),
        ("BTC/USDT\nEntry: 100\nTP: 110\n", "no stop"),
        ("BTCUSDT\nEntry: 100\nTP: 110\nStop: 95", "no coin pair"),
        ("BTC/USDT\nEntry: 100\nTP: 110\nStop: 95\nTimeframe 4h", "stray text"),
        ("BTC/USDT\nEntry above 100\nTP: 110\nStop: 95", "breakout"),
        ("BTC/USDT\nEntry: 100\nTP: 110\nStop: 95\nStop: 94", "twice"),
        ("BTC/USDT\nEntry Zone: 100\nTP: 110\nStop: 95", "zone True"),
        ("BTC/USDT\nNote: buy the dip\nEntry: 100\nTP: 110\nStop: 95", "keyword in the free"),
    ],
)
def test_the_reader_refuses_what_a_bot_would_misread(message: str, why: str) -> None:
    with pytest.raises(Unreadable, match=why):
        read_signal(message)


def test_the_reader_reads_a_range_without_zone_as_two_entries() -> None:
    read = read_signal("BTC/USDT\nBuy 100-102\nTarget 110 120\nStop 95\nLev: Cross 10x")
    assert read.entries == (Decimal(100), Decimal(102)) and not read.zone
    assert read.targets == (Decimal(110), Decimal(120)) and read.side == "long"
    assert (read.leverage, read.margin) == (Decimal(10), "Cross")


class _Tags(HTMLParser):
    """The tags of a message, checked as Telegram's HTML parse mode would: balanced, and
    only ones it knows."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.wrong: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in {"b", "i", "code"}:
            self.wrong.append(tag)
        self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.wrong.append(f"/{tag}")


def _valid_html(message: str) -> bool:
    tags = _Tags()
    tags.feed(message)
    tags.close()
    return not tags.wrong and not tags.open


# What notes are made of: words the bots read (the admin's check refuses them) and words
# they must not (the reader fails if one slips through as a price, a side or a keyword).
NOTE_WORDS = [
    *("entry", "Stop", "tp2", "buy", "SELL", "zone", "above", "Lev", "close", "target"),
    *("long", "short", "long-term", "stopped", "retest", "4h", "42", "0.5", "65k", "x10"),
    *("ETH/BTC", "12/34", "<b>", "&", "'", '"', "é", "📈", "-", "1)", "(2)"),
]


def _units(scale: int, units: int) -> Decimal:
    return Decimal(units).scaleb(-scale)


@st.composite
def bot_ready_specs(draw: st.DrawFn) -> SignalSpec:
    """Signals an admin can post with SIGNAL_STYLE=cornix: levels in order and within 10x,
    a pair with a known quote, any note that holds none of the bots' words."""
    scale = draw(st.integers(0, 8))
    entry = draw(st.integers(100, 10**6))
    high = entry + draw(st.integers(0, entry // 4))
    side = draw(st.sampled_from(["long", "short"]))
    # Wide enough that some fall outside 10x (the admin's check refuses those; without
    # it the reader would fail), narrow enough that most can be posted.
    if side == "long":
        stop = entry - draw(st.integers(1, entry - entry // 20))
        gaps = draw(st.lists(st.integers(1, entry // 3), min_size=1, max_size=10))
        tps = [high + sum(gaps[: i + 1]) for i in range(len(gaps))]
    else:
        stop = high + draw(st.integers(1, 12 * entry))
        gaps = draw(st.lists(st.integers(1, entry // 12), min_size=1, max_size=10))
        tps = [entry - sum(gaps[: i + 1]) for i in range(len(gaps))]
    base = draw(st.from_regex(r"[A-Z][A-Z0-9]{1,7}", fullmatch=True))
    quote = draw(st.sampled_from(["USDT", "USDC", "BTC", "ETH", "EUR"]))
    note = draw(st.none() | st.lists(st.sampled_from(NOTE_WORDS), max_size=12).map(" ".join))
    spec = SignalSpec(
        symbol=base + draw(st.sampled_from(["", "/"])) + quote,
        side=side,
        entry_low=_units(scale, entry),
        entry_high=_units(scale, high),
        stop_loss=_units(scale, stop),
        take_profits=tuple(_units(scale, tp) for tp in tps),
        leverage=draw(st.none() | st.integers(1, 125).map(Decimal)),
        timeframe=draw(st.none() | st.sampled_from(["15m", "4h", "1d", "1w"])),
        note=note.strip() or None if note else None,
    )
    try:  # the admin's checks decide what can be posted; keep what they let through
        return parse_signal(format_signal(spec), for_bots=True)
    except SignalSyntaxError:
        assume(False)
        raise


@given(spec=bot_ready_specs(), language=st.sampled_from(sorted(LANGUAGES)))
def test_every_signal_reads_back_the_same_in_every_language(
    spec: SignalSpec, language: str
) -> None:
    with CATALOGUE.use_locale(language):
        message = texts.body(spec, 1234, style="cornix")
    assert read_signal(message) == expected(spec)
    assert _valid_html(message)
    assert texts.visible_length(message) <= texts.MAX_MESSAGE


@given(spec=bot_ready_specs())
def test_an_admin_can_paste_a_rendered_signal_back(spec: SignalSpec) -> None:
    """The paste parser reads the English message as it was posted (its number ignored)."""
    with CATALOGUE.use_locale("en"):
        message = texts.body(spec, 7, style="cornix")
    pasted = parse_pasted(plain_text(message), for_bots=True)  # as Telegram shows it
    assert pasted == replace(spec, symbol=pasted.symbol)
    assert rules.pair(pasted.symbol) == rules.pair(spec.symbol)


def test_the_longest_signal_fits_one_message() -> None:
    spec = SignalSpec(
        symbol="ABCDEFGHIJKLMNOUSDT",
        side="long",
        entry_low=Decimal("100000000000.0000000001"),
        entry_high=Decimal("100000000000.0000000002"),
        stop_loss=Decimal("99999999999.9999999999"),
        take_profits=tuple(Decimal(f"1000000000{n:02}.0000000001") for n in range(10)),
        leverage=Decimal(125),
        timeframe="12h",
        note="n" * 500,
    )
    for language in LANGUAGES:
        with CATALOGUE.use_locale(language):
            assert texts.visible_length(texts.body(spec, 2**31, style="cornix")) < 2000


@pytest.mark.parametrize("base", ["TP", "SL", "STOP", "LEV", "SELL", "BUY"])
def test_a_pair_whose_coin_is_spelt_like_a_keyword_reads_back(base: str) -> None:
    """Found by the property test: TP/USDT's line was taken for the take-profits. A pair is
    written with a slash and a keyword never is, so the coin stays a coin."""
    spec = SignalSpec(
        symbol=f"{base}USDT",
        side="long",
        entry_low=Decimal(100),
        entry_high=Decimal(100),
        stop_loss=Decimal(99),
        take_profits=(Decimal(101),),
    )
    message = texts.body(spec, 1234, style="cornix")
    assert read_signal(message) == expected(spec)
