"""The rules that turn candles into a signal's outcome (bot/outcomes/rules.py): hand-made
series for each rule the README states, and properties over random series (a replay in two
parts says what one check says; nothing before the entry; the stop wins its candle)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from bot.outcomes.rules import (
    ENTRY,
    STOP,
    Candle,
    Event,
    Progress,
    after,
    entry_touched,
    events,
    stop_touched,
    target_touched,
)
from bot.signals.spec import SignalSpec

D = Decimal
T0 = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)
LONG = SignalSpec("BTCUSDT", "long", D(65000), D(65000), D(63500), (D(67000), D(69000)))
LONG_ZONE = SignalSpec("BTCUSDT", "long", D(64000), D(65000), D(63000), (D(67000), D(69000)))
SHORT = SignalSpec("ETHUSDT", "short", D(3400), D(3450), D(3520), (D(3300), D(3200), D(3100)))
FILLED = Progress(filled=True)


def series(*prices: tuple[int | str, int | str, int | str, int | str]) -> list[Candle]:
    """Candles a minute apart from T0: (open, high, low, close) each."""
    return [
        Candle(T0 + timedelta(minutes=i), D(o), D(h), D(low), D(c))
        for i, (o, h, low, c) in enumerate(prices)
    ]


def kinds(found: list[Event]) -> list[str]:
    return [event.kind for event in found]


def test_a_long_fills_then_hits_each_target_in_its_own_candle() -> None:
    candles = series(
        (66000, 66200, 65800, 66000),  # above the entry: waiting
        (66000, 66000, 64990, 65200),  # the wick comes down to 65000: filled
        (65200, 67010, 65100, 66900),  # tp1 by a wick
        (66900, 69000, 66800, 68500),  # tp2 exactly at its level
    )
    found = events(LONG, Progress(), candles)
    assert kinds(found) == [ENTRY, "tp1", "tp2"]
    assert [e.candle for e in found] == [c.start for c in candles[1:]]
    assert [e.price for e in found] == [D(65000), D(67000), D(69000)]


def test_a_wick_counts_not_the_close() -> None:
    candle = series((66000, 67000, 65500, 65600))[0]  # closes far from 67000, touched it
    assert target_touched(LONG, candle, 1)
    assert not target_touched(LONG, series((66000, "66999.99", 65500, 66999))[0], 1)


def test_target_and_stop_in_one_candle_count_as_the_stop() -> None:
    candles = series((65500, 65600, 64900, 65100), (65000, 67500, 63400, 64000))
    assert kinds(events(LONG, Progress(), candles)) == [ENTRY, STOP]
    # Also after a first target: the second target and the stop together are the stop.
    candles = series((67000, 69500, 63000, 64000))
    found = events(LONG, Progress(filled=True, targets_hit=1), candles)
    assert kinds(found) == [STOP] and found[0].price == D(63500)


def test_no_target_before_the_entry_fills_nor_in_the_candle_that_fills_it() -> None:
    # A long's entry below the market: the price runs up to both targets without ever
    # coming back to the entry: nothing happened, the trade was never on.
    candles = series((66000, 67500, 65900, 67400), (67400, 69500, 67000, 69000))
    assert events(LONG, Progress(), candles) == []
    # One candle fills and reaches tp1: which came first is unknown, so only the fill;
    # tp1 counts in the next candle that reaches it.
    candles = series((66000, 67100, 64900, 66000), (66000, 67000, 65800, 66500))
    found = events(LONG, Progress(), candles)
    assert kinds(found) == [ENTRY, "tp1"]
    assert [e.candle for e in found] == [candles[0].start, candles[1].start]


def test_the_stop_counts_in_the_candle_that_fills_the_entry() -> None:
    candles = series((66000, 66100, 63000, 63200))  # straight through the entry to the stop
    found = events(LONG, Progress(), candles)
    assert kinds(found) == [ENTRY, STOP]
    assert found[0].price == D(65000) and found[1].price == D(63500)


def test_a_zone_fills_at_its_first_touch_priced_where_the_candle_met_it() -> None:
    above = series((65800, 65900, 64950, 65100))[0]  # came down into the zone's top
    inside = series((64500, 64700, 64300, 64600))[0]  # opened inside the zone
    assert entry_touched(LONG_ZONE, above) and entry_touched(LONG_ZONE, inside)
    assert events(LONG_ZONE, Progress(), [above])[0].price == D(65000)
    assert events(LONG_ZONE, Progress(), [inside])[0].price == D(64500)
    # A short's zone from below: its bottom edge, 3400.
    found = events(SHORT, Progress(), series((3350, 3405, 3340, 3390)))
    assert found == [Event(ENTRY, D(3400), T0)]


def test_gaps_count_at_the_level_not_at_the_open() -> None:
    # Opens above both targets (a gap up): both hit, priced at their levels.
    found = events(LONG, FILLED, series((70000, 70500, 69800, 70200)))
    assert [(e.kind, e.price) for e in found] == [("tp1", D(67000)), ("tp2", D(69000))]
    # Opens below the stop (a gap down): stopped at the stop's level.
    found = events(LONG, FILLED, series((62000, 62500, 61000, 62000)))
    assert [(e.kind, e.price) for e in found] == [(STOP, D(63500))]
    # A short gapping through its stop.
    found = events(SHORT, FILLED, series((3600, 3650, 3590, 3600)))
    assert [(e.kind, e.price) for e in found] == [(STOP, D(3520))]


def test_a_short_is_the_mirror() -> None:
    candles = series(
        (3350, 3380, 3340, 3370),  # below the zone: waiting
        (3370, 3455, 3360, 3440),  # up into the zone: filled
        (3440, 3445, 3299, 3310),  # tp1
        (3310, 3320, 3100, 3150),  # tp2 and tp3 in one candle, in order
    )
    assert kinds(events(SHORT, Progress(), candles)) == [ENTRY, "tp1", "tp2", "tp3"]
    assert stop_touched(SHORT, series((3500, 3520, 3490, 3510))[0])  # its high, upward
    assert not stop_touched(SHORT, series((3500, 3519, 3000, 3510))[0])  # a low is no stop


def test_candles_missing_in_between_change_nothing() -> None:
    """An exchange may skip minutes without trades: the next candle is read as it is."""
    first = series((65200, 65300, 64900, 65000))[0]
    later = Candle(T0 + timedelta(minutes=30), D(66000), D(67200), D(65900), D(67000))
    found = events(LONG, Progress(), [first, later])
    assert kinds(found) == [ENTRY, "tp1"] and found[1].candle == later.start


def test_a_signal_over_or_with_every_target_hit_takes_nothing_more() -> None:
    candles = series((64000, 70000, 60000, 65000))
    assert events(LONG, Progress(filled=True, over=True), candles) == []
    assert events(LONG, Progress(filled=True, targets_hit=2), candles) == []
    # A target declared by hand (tp1 by /update) is not found again; the next one is.
    found = events(
        LONG, Progress(filled=True, targets_hit=1), series((68000, 69100, 67900, 69000))
    )
    assert kinds(found) == ["tp2"]


def test_after_carries_the_progress() -> None:
    found = [Event(ENTRY, D(1), T0), Event("tp1", D(2), T0)]
    assert after(Progress(), found, 2) == Progress(filled=True, targets_hit=1, over=False)
    assert after(Progress(filled=True, targets_hit=1), [Event("tp2", D(3), T0)], 2).over
    assert after(Progress(filled=True), [Event(STOP, D(0), T0)], 2).over


# --- properties over random series -------------------------------------------------------


@st.composite
def random_series(draw: st.DrawFn) -> list[Candle]:
    """Up to 40 candles wandering around the long's levels (60,000 .. 72,000)."""
    count = draw(st.integers(min_value=0, max_value=40))
    price = draw(st.integers(min_value=60_000, max_value=72_000))
    candles = []
    for i in range(count):
        open_ = price + draw(st.integers(min_value=-3000, max_value=3000))  # gaps too
        close = open_ + draw(st.integers(min_value=-2500, max_value=2500))
        high = max(open_, close) + draw(st.integers(min_value=0, max_value=2000))
        low = min(open_, close) - draw(st.integers(min_value=0, max_value=2000))
        candles.append(Candle(T0 + timedelta(minutes=i), D(open_), D(high), D(low), D(close)))
        price = close
    return candles


specs = st.sampled_from([LONG, LONG_ZONE])


@given(specs, random_series(), st.integers(min_value=0, max_value=40))
def test_a_replay_in_two_parts_says_what_one_check_says(
    spec: SignalSpec, candles: list[Candle], cut: int
) -> None:
    whole = events(spec, Progress(), candles)
    first = events(spec, Progress(), candles[:cut])
    rest = events(spec, after(Progress(), first, len(spec.take_profits)), candles[cut:])
    assert first + rest == whole


@given(specs, random_series())
def test_events_come_in_the_order_a_trade_can_take(
    spec: SignalSpec, candles: list[Candle]
) -> None:
    found = events(spec, Progress(), candles)
    names = kinds(found)
    if names:
        assert names[0] == ENTRY
    targets = [int(name[2:]) for name in names if name.startswith("tp")]
    assert targets == list(range(1, len(targets) + 1))  # each once, nearest first
    assert STOP not in names[:-1]  # nothing after the stop
    assert not (STOP in names and len(targets) == len(spec.take_profits))
    starts = [event.candle for event in found]
    assert starts == sorted(starts)


@given(specs, random_series())
def test_every_event_was_touched_and_nothing_won_beside_the_stop(
    spec: SignalSpec, candles: list[Candle]
) -> None:
    by_start = {candle.start: candle for candle in candles}
    found = events(spec, Progress(), candles)
    fill = next((e.candle for e in found if e.kind == ENTRY), None)
    for event in found:
        candle = by_start[event.candle]
        if event.kind == ENTRY:
            assert entry_touched(spec, candle)
            assert spec.entry_low <= event.price <= spec.entry_high
        elif event.kind == STOP:
            assert stop_touched(spec, candle) and event.price == spec.stop_loss
        else:
            assert target_touched(spec, candle, int(event.kind[2:]))
            assert not stop_touched(spec, candle)  # the stop wins its candle
            assert event.candle != fill  # no target in the candle that fills the entry
    # Nothing found before the first candle that touches the entry.
    first_touch = next((c.start for c in candles if entry_touched(spec, c)), None)
    assert (fill is None) == (first_touch is None) and fill == first_touch
