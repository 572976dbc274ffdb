"""Signal results (percent and R) and the track record summary over time windows."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings

from bot.signals.results import result_at, risk
from bot.signals.service import Performance, summarise
from bot.signals.spec import SignalSpec
from bot.signals.syntax import parse_signal
from db.models import Signal, SignalStatus
from tests.unit.test_signal_syntax_properties import valid_specs

D = Decimal
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PROPERTY = settings(deadline=None, database=None)  # examples: the profile's (support/harness.py)

LONG = parse_signal("/signal TESTUSDT long entry 100 sl 90 tp 120 130")
SHORT_RANGE = parse_signal("/signal ETHUSDT short entry 3400-3450 sl 3520 tp 3300 3200 3100")
LONG_RANGE = parse_signal("/signal BTCUSDT long entry 64000-66000 sl 63000 tp 67000")
SHORT = parse_signal("/signal SOLUSDT short entry 50 sl 55 tp 40")


def _exact(value: Decimal, text: str) -> None:
    """Equal in value AND in representation (four decimal places)."""
    assert value == D(text)
    assert str(value) == text


# ---------------------------------------------------------------------------------------------
# risk
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        (LONG, D(10)),
        (SHORT, D(5)),
        (SHORT_RANGE, D(95)),  # midpoint 3425 to 3520
        (LONG_RANGE, D(2000)),  # midpoint 65000 to 63000
        (parse_signal("DOGEUSDT long entry 0.0125 sl 0.0118 tp 0.0131"), D("0.0007")),
    ],
)
def test_risk_is_distance_from_entry_midpoint_to_stop(spec: SignalSpec, expected: Decimal) -> None:
    assert risk(spec) == expected
    assert risk(spec) > 0


# ---------------------------------------------------------------------------------------------
# result_at
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "exit_price", "pct", "r"),
    [
        pytest.param(LONG, "120", "20.0000", "2.0000", id="long-win"),
        pytest.param(LONG, "90", "-10.0000", "-1.0000", id="long-at-stop"),
        pytest.param(LONG, "100", "0.0000", "0.0000", id="long-at-entry"),
        pytest.param(LONG, "130", "30.0000", "3.0000", id="long-tp2"),
        pytest.param(LONG, "85", "-15.0000", "-1.5000", id="long-beyond-stop"),
        pytest.param(LONG, "105.5", "5.5000", "0.5500", id="long-decimal-exit"),
        pytest.param(SHORT, "40", "20.0000", "2.0000", id="short-win"),
        pytest.param(SHORT, "55", "-10.0000", "-1.0000", id="short-at-stop"),
        pytest.param(SHORT, "52.5", "-5.0000", "-0.5000", id="short-half-loss"),
        # 125 / 3425 * 100 = 3.64963..., 125 / 95 = 1.31578...
        pytest.param(SHORT_RANGE, "3300", "3.6496", "1.3158", id="short-range-midpoint"),
        # -95 / 3425 * 100 = -2.77372...
        pytest.param(SHORT_RANGE, "3520", "-2.7737", "-1.0000", id="short-range-at-stop"),
        # 2000 / 65000 * 100 = 3.07692...
        pytest.param(LONG_RANGE, "67000", "3.0769", "1.0000", id="long-range-midpoint"),
        pytest.param(LONG_RANGE, "63000", "-3.0769", "-1.0000", id="long-range-at-stop"),
        # Filled at the range's low edge: results are still measured from the midpoint.
        pytest.param(LONG_RANGE, "64000", "-1.5385", "-0.5000", id="long-range-low-edge"),
    ],
)
def test_result_at(spec: SignalSpec, exit_price: str, pct: str, r: str) -> None:
    got_pct, got_r = result_at(spec, D(exit_price))
    _exact(got_pct, pct)
    _exact(got_r, r)


def test_short_range_r_is_125_over_95_to_four_places() -> None:
    _, r = result_at(SHORT_RANGE, D(3300))
    assert r == (D(125) / D(95)).quantize(D("0.0001"))
    assert r == D("1.3158")


def test_results_round_half_up_away_from_zero() -> None:
    spec = parse_signal("TESTUSDT long entry 100 sl 80 tp 120")  # risk 20
    # move 0.001: R = 0.00005 exactly, pct = 0.001 exactly
    pct, r = result_at(spec, D("100.001"))
    _exact(r, "0.0001")  # half-even would give 0.0000
    _exact(pct, "0.0010")
    pct, r = result_at(spec, D("99.999"))
    _exact(r, "-0.0001")
    _exact(pct, "-0.0010")


def test_leverage_is_not_multiplied_in() -> None:
    leveraged = replace(LONG, leverage=D(10))
    assert result_at(leveraged, D(120)) == result_at(LONG, D(120)) == (D(20), D(2))


@PROPERTY
@given(valid_specs())
def test_stop_is_minus_one_r_entry_is_zero_and_take_profits_win(spec: SignalSpec) -> None:
    pct, r = result_at(spec, spec.stop_loss)
    assert r == D(-1)
    assert pct < 0
    assert result_at(spec, spec.entry_mid) == (D(0), D(0))
    previous = D(0)
    for tp in spec.take_profits:
        pct, r = result_at(spec, tp)
        assert r >= previous  # further take-profits never earn less
        assert pct >= 0
        previous = r
    assert risk(spec) > 0


# ---------------------------------------------------------------------------------------------
# summarise: the track record over 7 / 30 / 90 days and all time
# ---------------------------------------------------------------------------------------------


def _closed(closed_at: datetime | None, result_r: str | None, status: str = "closed") -> Signal:
    return Signal(
        symbol="BTCUSDT",
        side="long",
        entry_low=D(100),
        entry_high=D(100),
        stop_loss=D(90),
        take_profits=["120"],
        status=status,
        author_id=1,
        closed_at=closed_at,
        result_r=None if result_r is None else D(result_r),
    )


def _by_label(performances: list[Performance]) -> dict[str, Performance]:
    return {p.label: p for p in performances}


LABELS = ["7d", "30d", "90d", "all"]


def test_summarise_windows() -> None:
    signals = [
        _closed(NOW - timedelta(days=1), "2", SignalStatus.CLOSED),  # win
        _closed(NOW - timedelta(days=6), "-1", SignalStatus.STOPPED),  # loss
        _closed(NOW - timedelta(days=7), "0.5", "tp1"),  # win, exactly on the 7-day edge
        _closed(NOW - timedelta(days=7, seconds=1), "1.5"),  # win, just outside 7 days
        _closed(NOW - timedelta(days=20), "0"),  # break-even: counted, not a win
        _closed(NOW - timedelta(days=60), "-1", SignalStatus.STOPPED),
        _closed(NOW - timedelta(days=400), "3"),
        _closed(NOW - timedelta(days=2), None),  # no result: never counted
    ]
    result = summarise(signals, NOW)
    assert [p.label for p in result] == LABELS
    by = _by_label(result)

    assert by["7d"] == Performance("7d", 3, 2, D("1.5"), D("0.50"))
    assert by["7d"].win_rate == D("66.7")

    assert by["30d"] == Performance("30d", 5, 3, D("3.0"), D("0.60"))
    assert by["30d"].win_rate == D("60.0")

    assert by["90d"] == Performance("90d", 6, 3, D("2.0"), D("0.33"))
    assert by["90d"].win_rate == D("50.0")

    assert by["all"] == Performance("all", 7, 4, D("5.0"), D("0.71"))
    assert by["all"].win_rate == D("57.1")

    # Exact representations as shown to users.
    assert str(by["90d"].avg_r) == "0.33"
    assert str(by["all"].avg_r) == "0.71"
    assert str(by["7d"].win_rate) == "66.7"


def test_summarise_nothing_closed() -> None:
    result = summarise([], NOW)
    assert [p.label for p in result] == LABELS
    for performance in result:
        assert performance.count == 0
        assert performance.wins == 0
        assert performance.total_r == 0
        assert performance.avg_r is None
        assert performance.win_rate is None


def test_summarise_only_old_signals_leaves_recent_windows_empty() -> None:
    by = _by_label(summarise([_closed(NOW - timedelta(days=91), "-0.75")], NOW))
    for label in ("7d", "30d", "90d"):
        assert by[label] == Performance(label, 0, 0, D(0), None)
        assert by[label].win_rate is None
    assert by["all"] == Performance("all", 1, 0, D("-0.75"), D("-0.75"))
    assert by["all"].win_rate == D("0.0")


def test_summarise_window_edges() -> None:
    signals = [
        _closed(NOW - timedelta(days=30), "1"),  # inside 30 (edge), outside 7
        _closed(NOW - timedelta(days=90), "1"),  # inside 90 (edge), outside 30
        _closed(NOW - timedelta(days=90, microseconds=1), "1"),  # all time only
    ]
    counts = {p.label: p.count for p in summarise(signals, NOW)}
    assert counts == {"7d": 0, "30d": 1, "90d": 2, "all": 3}


def test_summarise_all_losses() -> None:
    signals = [_closed(NOW - timedelta(hours=h), "-1") for h in (1, 2, 3)]
    seven = summarise(signals, NOW)[0]
    assert seven == Performance("7d", 3, 0, D(-3), D("-1.00"))
    assert seven.win_rate == D("0.0")


@pytest.mark.parametrize(
    ("count", "wins", "rate"),
    [(0, 0, None), (1, 1, "100.0"), (3, 1, "33.3"), (3, 2, "66.7"), (8, 3, "37.5")],
)
def test_win_rate(count: int, wins: int, rate: str | None) -> None:
    performance = Performance("x", count, wins, D(0), None)
    assert performance.win_rate == (None if rate is None else D(rate))
