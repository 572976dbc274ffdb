"""The track record's statistics (bot/signals/statistics.py) against a series whose every
figure was worked out by hand below."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.signals import statistics
from bot.signals.statistics import Trade


def _trade(day: str, r: str, symbol: str, side: str, timeframe: str | None) -> Trade:
    closed = datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC)
    return Trade(closed, Decimal(r), symbol, side, timeframe)


# In closing order the results are 2, -1, -1, 3, -1, -1, -1, 0, 1.5 (listed out of order:
# the figures sort them by closing time).
SERIES = [
    _trade("2026-02-12", "-1", "ETH/USDT", "short", "1h"),
    _trade("2026-01-05", "2", "BTC/USDT", "long", "4h"),
    _trade("2026-01-20", "-1", "BTC/USDT", "long", "4h"),
    _trade("2026-03-02", "3", "BTC/USDT", "short", "1d"),
    _trade("2026-03-15", "-1", "ETH/USDT", "long", "4h"),
    _trade("2026-03-16", "-1", "ETH/USDT", "long", "4h"),
    _trade("2026-03-20", "-1", "SOL/USDT", "long", None),
    _trade("2026-04-01", "0", "BTC/USDT", "long", "4h"),
    _trade("2026-04-10", "1.5", "SOL/USDT", "short", "1h"),
]


def test_every_figure_of_the_series() -> None:
    f = statistics.figures(SERIES)
    assert (f.trades, f.wins, f.losses) == (9, 3, 5)  # the 0R one is neither
    assert f.total_r == Decimal("1.5")
    assert f.win_rate == Decimal("33.3")  # 3 / 9
    assert f.average_r == Decimal("0.17")  # 1.5 / 9
    assert f.average_win_r == Decimal("2.17")  # 6.5 / 3
    assert f.average_loss_r == Decimal("1.00")  # 5 / 5
    assert f.expectancy_r == Decimal("0.17")  # 3/9 x 2.1667 - 5/9 x 1 = 1.5 / 9
    assert f.profit_factor == Decimal("1.30")  # 6.5 / 5
    # Running total 2, 1, 0, 3, 2, 1, 0, 0, 1.5: from the peak of 3 down to 0.
    assert f.max_drawdown_r == Decimal(3)
    assert f.longest_losing_streak == 3  # the three -1s of March
    # Months Jan +1, Feb -1, Mar 0, Apr +1.5: mean 0.375, sample deviation
    # sqrt(3.6875 / 3) = 1.10868; x sqrt(12): 1.17. Downside: sqrt(1 / 4) = 0.5: 2.6.
    assert f.sharpe == pytest.approx(1.17)
    assert f.sortino == pytest.approx(2.6)


def test_months_without_a_signal_count_zero() -> None:
    months = statistics.monthly_r(SERIES)
    assert months == {
        "2026-01": Decimal(1),
        "2026-02": Decimal(-1),
        "2026-03": Decimal(0),
        "2026-04": Decimal("1.5"),
    }
    gap = [
        _trade("2025-11-30", "1", "X", "long", None),
        _trade("2026-02-01", "1", "X", "long", None),
    ]
    assert list(statistics.monthly_r(gap).values()) == [1, 0, 0, 1]  # Dec and Jan empty


def test_by_symbol_side_timeframe_and_month() -> None:
    symbol = statistics.grouped(SERIES, statistics.BY["symbol"])
    assert list(symbol) == ["BTC/USDT", "ETH/USDT", "SOL/USDT"]
    assert (symbol["BTC/USDT"].trades, symbol["BTC/USDT"].total_r) == (4, Decimal(4))
    assert symbol["BTC/USDT"].win_rate == Decimal("50.0")
    assert symbol["ETH/USDT"].total_r == Decimal(-3) and symbol["ETH/USDT"].win_rate == 0
    assert symbol["ETH/USDT"].profit_factor == 0  # no winner: 0 / 3
    side = statistics.grouped(SERIES, statistics.BY["side"])
    assert (side["long"].total_r, side["short"].total_r) == (Decimal(-2), Decimal("3.5"))
    timeframe = statistics.grouped(SERIES, statistics.BY["timeframe"])
    assert timeframe["-"].trades == 1 and timeframe["4h"].trades == 5
    month = statistics.grouped(SERIES, statistics.BY["month"])
    assert [f.total_r for f in month.values()] == [1, -1, 0, Decimal("1.5")]


def test_the_simulated_portfolio_compounds_a_fixed_risk() -> None:
    p = statistics.portfolio(SERIES, risk=Decimal("0.01"), start=Decimal(10_000))
    # 10,000 x 1.02 x 0.99 x 0.99 x 1.03 x 0.99^3 x 1 x 1.015 = 10,140.968...
    assert p.end == Decimal("10140.97")
    assert p.return_pct == Decimal("1.41")
    assert p.max_drawdown_pct == Decimal("2.97")  # 1 - 0.99^3 from the peak after +3R
    assert p.curve[:3] == (Decimal(10_000), Decimal("10200.00"), Decimal("10098.00"))
    assert len(p.curve) == 10


def test_too_little_to_say() -> None:
    empty = statistics.figures([])
    assert empty.trades == 0 and empty.win_rate is None and empty.average_r is None
    assert empty.max_drawdown_r == 0 and empty.sharpe is None
    one_month = statistics.figures(SERIES[1:3])  # both in January
    assert one_month.sharpe is None and one_month.sortino is None
    winners = [
        _trade("2026-01-01", "1", "X", "long", None),
        _trade("2026-02-01", "2", "X", "long", None),
    ]
    only = statistics.figures(winners)
    assert only.profit_factor is None and only.sortino is None  # no loss, no losing month
    assert only.sharpe == pytest.approx(1.5 / (0.5**0.5) * 12**0.5, abs=0.01)


def test_the_equity_curve_in_r_is_the_running_total_in_closing_order() -> None:
    # 2, -1, -1, 3, -1, -1, -1, 0, 1.5 -> 0, 2, 1, 0, 3, 2, 1, 0, 0, 1.5
    expected = ["0", "2", "1", "0", "3", "2", "1", "0", "0", "1.5"]
    assert statistics.equity_r(SERIES) == [Decimal(v) for v in expected]
    assert statistics.equity_r([]) == [Decimal(0)]


def test_the_windows_count_what_closed_within_them() -> None:
    now = datetime(2026, 4, 10, 12, tzinfo=UTC)
    # 10 days back: 1 Apr and 10 Apr (0 and 1.5); 40 days: from 1 Mar, six trades.
    assert [t.r for t in statistics.within(SERIES, 10, now)] == [Decimal(0), Decimal("1.5")]
    assert len(statistics.within(SERIES, 40, now)) == 6
    assert statistics.within(SERIES, None, now) == SERIES


def test_the_period_runs_from_the_first_publication_to_the_last_close() -> None:
    opened = datetime(2026, 1, 1, 9, tzinfo=UTC)
    first = Trade(datetime(2026, 1, 5, tzinfo=UTC), Decimal(1), "BTCUSDT", "long", None, opened)
    last = Trade(datetime(2026, 4, 10, tzinfo=UTC), Decimal(1), "BTCUSDT", "long", None)
    assert statistics.period([last, first]) == (opened, last.closed_at)
    # Without a publication time, the close stands in for it.
    assert statistics.period(SERIES) == (
        datetime(2026, 1, 5, 12, tzinfo=UTC),
        datetime(2026, 4, 10, 12, tzinfo=UTC),
    )
    assert statistics.period([]) is None


def test_the_benchmark_is_btc_in_the_quote_most_signals_use() -> None:
    def of(*symbols: str) -> list[Trade]:
        closed = datetime(2026, 1, 5, tzinfo=UTC)
        return [Trade(closed, Decimal(1), symbol, "long", None) for symbol in symbols]

    assert statistics.benchmark_pair(SERIES) == "BTC/USDT"
    assert statistics.benchmark_pair(of("ETHUSDC", "SOLUSDC", "BTCUSDT")) == "BTC/USDC"
    assert statistics.benchmark_pair(of("ETHUSDC", "BTCUSDT")) == "BTC/USDC"  # a tie: A-Z
    assert statistics.benchmark_pair(of("WHATEVER")) == "BTC/USDT"
    assert statistics.benchmark_pair([]) == "BTC/USDT"


def test_holding_btc_by_hand() -> None:
    # 10,000 buys 10,000 / 40,000 = 0.25 BTC; at 50,000 that is 12,500: +25 %.
    held = statistics.holding("BTC/USDT", Decimal(40_000), Decimal(50_000))
    assert (held.start, held.end, held.return_pct) == (
        Decimal(10_000),
        Decimal("12500.00"),
        Decimal("25.00"),
    )
    # 0.3 BTC-worth of 1,000 at 62,500 -> 48,000: 1,000 x 48,000 / 62,500 = 768, -23.2 %.
    held = statistics.holding("BTC/EUR", Decimal(62_500), Decimal(48_000), start=Decimal(1_000))
    assert (held.end, held.return_pct, held.pair) == (
        Decimal("768.00"),
        Decimal("-23.20"),
        "BTC/EUR",
    )
    with pytest.raises(ValueError, match="positive"):
        statistics.holding("BTC/USDT", Decimal(0), Decimal(1))
