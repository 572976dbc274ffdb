"""The track record's statistics, pure: what a signal marketplace shows for a provider.

Every figure is computed from closed signals' results in R (the result over the risk from
entry to stop: +2R made twice what was risked). Cancelled signals never count. The public
page, the Mini App and /performance all read these numbers from here.

How each is computed (docs/signals.md repeats it for readers of the record):
- win rate: signals with a result above 0R over all signals (breakeven counts as no win);
- average R: the mean result; expectancy: what a signal is worth on average, the same
  number written as win rate x average win - loss rate x average loss;
- profit factor: the sum of winning R over the sum of losing R (None without a loss);
- maximum drawdown: the largest fall, in R, of the running total from its previous peak
  (the total starts at 0 before the first signal);
- longest losing streak: the most results below 0R in a row, in closing order;
- Sharpe and Sortino: over monthly R (calendar months, UTC, from the first closing month
  to the last, a month without a closed signal counting 0R), the mean over the sample
  standard deviation (Sortino: over the downside deviation, the root mean square of the
  months below 0R, all months counted), times the square root of 12 to make them yearly;
  None with fewer than two months or no spread (Sortino: no losing month);
- the simulated portfolio: a starting balance that risks a fixed share of its current
  balance on every signal, in closing order, gaining that share times the result in R
  (1 % at +2R is +2 %), compounding; no fees, no overlap of open trades;
- holding instead: the same starting balance in the benchmark asset (BTC, priced in the
  quote most of the signals use) bought at one daily close and valued at another (the
  caller reads the closes of the days the first signal was published and the last one
  closed, bot/outcomes/benchmark.py); no fees;
- the equity curve: the running total of R after each signal in closing order, from 0;
- the windows (7, 30, 90 days, all time) count the signals closed within them.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Protocol

from bot.signals import cornix

MONTHS_A_YEAR = 12
TWO_PLACES = Decimal("0.01")
ONE_PLACE = Decimal("0.1")


@dataclass(frozen=True, slots=True)
class Trade:
    """One closed signal's result."""

    closed_at: datetime
    r: Decimal
    symbol: str
    side: str
    timeframe: str | None = None
    opened_at: datetime | None = None  # when it was published


class ClosedSignal(Protocol):
    """What a closed signal gives the statistics (db.models.Signal is one)."""

    @property
    def closed_at(self) -> datetime | None: ...
    @property
    def result_r(self) -> Decimal | None: ...
    @property
    def symbol(self) -> str: ...
    @property
    def side(self) -> str: ...
    @property
    def timeframe(self) -> str | None: ...
    @property
    def published_at(self) -> datetime | None: ...


def trades_of(signals: Iterable[ClosedSignal]) -> list[Trade]:
    """The closed signals with a result, as trades (the others say nothing here)."""
    return [
        Trade(s.closed_at, s.result_r, s.symbol, s.side, s.timeframe, s.published_at)
        for s in signals
        if s.closed_at is not None and s.result_r is not None
    ]


@dataclass(frozen=True, slots=True)
class Figures:
    trades: int
    wins: int
    losses: int
    total_r: Decimal
    win_rate: Decimal | None  # percent, one decimal
    average_r: Decimal | None
    average_win_r: Decimal | None
    average_loss_r: Decimal | None  # a positive number: the R lost on average
    expectancy_r: Decimal | None
    profit_factor: Decimal | None
    max_drawdown_r: Decimal
    longest_losing_streak: int
    sharpe: float | None
    sortino: float | None


def win_rate(wins: int, count: int) -> Decimal | None:
    """Wins over all, in percent, one decimal (None with nothing to count)."""
    return (Decimal(wins) * 100 / count).quantize(ONE_PLACE) if count else None


def _mean(values: Sequence[Decimal]) -> Decimal | None:
    return sum(values, Decimal(0)) / len(values) if values else None


def _round(value: Decimal | None, places: Decimal = TWO_PLACES) -> Decimal | None:
    return value.quantize(places) if value is not None else None


def max_drawdown(results: Iterable[Decimal]) -> Decimal:
    """The largest fall of the running total from its peak (0 before the first)."""
    total = peak = deepest = Decimal(0)
    for r in results:
        total += r
        peak = max(peak, total)
        deepest = max(deepest, peak - total)
    return deepest


def longest_losing_streak(results: Iterable[Decimal]) -> int:
    longest = current = 0
    for r in results:
        current = current + 1 if r < 0 else 0
        longest = max(longest, current)
    return longest


def _month(moment: datetime) -> tuple[int, int]:
    return moment.year, moment.month


def monthly_r(trades: Sequence[Trade]) -> dict[str, Decimal]:
    """R by calendar month ("2026-03"), every month from the first to the last, empty ones 0."""
    if not trades:
        return {}
    totals: dict[tuple[int, int], Decimal] = {}
    for trade in trades:
        key = _month(trade.closed_at)
        totals[key] = totals.get(key, Decimal(0)) + trade.r
    year, month = min(totals)
    last = max(totals)
    months: dict[str, Decimal] = {}
    while (year, month) <= last:
        months[f"{year:04d}-{month:02d}"] = totals.get((year, month), Decimal(0))
        year, month = (year + 1, 1) if month == MONTHS_A_YEAR else (year, month + 1)
    return months


def sharpe(months: Sequence[Decimal]) -> float | None:
    if len(months) < 2:  # noqa: PLR2004 - a spread needs two
        return None
    values = [float(m) for m in months]
    mean = sum(values) / len(values)
    spread = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))
    if spread == 0:
        return None
    return round(mean / spread * math.sqrt(MONTHS_A_YEAR), 2)


def sortino(months: Sequence[Decimal]) -> float | None:
    if len(months) < 2:  # noqa: PLR2004
        return None
    values = [float(m) for m in months]
    downside = math.sqrt(sum(min(0.0, v) ** 2 for v in values) / len(values))
    if downside == 0:
        return None
    return round(sum(values) / len(values) / downside * math.sqrt(MONTHS_A_YEAR), 2)


def figures(trades: Sequence[Trade]) -> Figures:
    """Every figure over these trades (in any order: they are sorted by closing time)."""
    ordered = sorted(trades, key=lambda t: t.closed_at)
    results = [t.r for t in ordered]
    wins = [r for r in results if r > 0]
    losses = [-r for r in results if r < 0]
    count = len(results)
    average_win, average_loss = _mean(wins), _mean(losses)
    expectancy = None
    if count:
        expectancy = (Decimal(len(wins)) * (average_win or 0)) / count - (
            Decimal(len(losses)) * (average_loss or 0)
        ) / count
    months = list(monthly_r(ordered).values())
    return Figures(
        trades=count,
        wins=len(wins),
        losses=len(losses),
        total_r=sum(results, Decimal(0)),
        win_rate=win_rate(len(wins), count),
        average_r=_round(_mean(results)),
        average_win_r=_round(average_win),
        average_loss_r=_round(average_loss),
        expectancy_r=_round(expectancy),
        profit_factor=_round(sum(wins, Decimal(0)) / sum(losses)) if losses else None,
        max_drawdown_r=max_drawdown(results),
        longest_losing_streak=longest_losing_streak(results),
        sharpe=sharpe(months),
        sortino=sortino(months),
    )


def grouped(trades: Sequence[Trade], key: Callable[[Trade], str]) -> dict[str, Figures]:
    """The figures of each group (by month, symbol, side or timeframe), in key order."""
    groups: dict[str, list[Trade]] = {}
    for trade in trades:
        groups.setdefault(key(trade), []).append(trade)
    return {name: figures(groups[name]) for name in sorted(groups)}


BY: dict[str, Callable[[Trade], str]] = {
    "month": lambda t: f"{t.closed_at.year:04d}-{t.closed_at.month:02d}",
    "symbol": lambda t: t.symbol,
    "side": lambda t: t.side,
    "timeframe": lambda t: t.timeframe or "-",
}


@dataclass(frozen=True, slots=True)
class Portfolio:
    start: Decimal
    risk: Decimal  # the share of the balance risked on each signal (0.01: 1 %)
    end: Decimal
    return_pct: Decimal
    max_drawdown_pct: Decimal
    curve: tuple[Decimal, ...]  # the balance after each signal, the start first


def portfolio(
    trades: Sequence[Trade], *, risk: Decimal = Decimal("0.01"), start: Decimal = Decimal(10_000)
) -> Portfolio:
    """The balance risking `risk` of itself on each signal in closing order, compounding."""
    balance, peak, deepest = start, start, Decimal(0)
    curve = [start]
    for trade in sorted(trades, key=lambda t: t.closed_at):
        balance = max(Decimal(0), balance * (1 + risk * trade.r))
        curve.append(balance.quantize(TWO_PLACES))
        peak = max(peak, balance)
        if peak:
            deepest = max(deepest, (peak - balance) / peak)
    return Portfolio(
        start=start,
        risk=risk,
        end=balance.quantize(TWO_PLACES),
        return_pct=((balance - start) * 100 / start).quantize(TWO_PLACES),
        max_drawdown_pct=(deepest * 100).quantize(TWO_PLACES),
        curve=tuple(curve),
    )


def equity_r(trades: Sequence[Trade]) -> list[Decimal]:
    """The running total of R after each trade in closing order, from 0 (the curve)."""
    points, total = [Decimal(0)], Decimal(0)
    for trade in sorted(trades, key=lambda t: t.closed_at):
        total += trade.r
        points.append(total)
    return points


# The windows of the track record: an id (the catalogue's window.<id>) and its days.
WINDOWS: tuple[tuple[str, int | None], ...] = (
    ("7d", 7),
    ("30d", 30),
    ("90d", 90),
    ("all", None),
)


def within(trades: Sequence[Trade], days: int | None, now: datetime) -> list[Trade]:
    """The trades closed in the last `days` days before `now` (None: all of them)."""
    if days is None:
        return list(trades)
    since = now - timedelta(days=days)
    return [t for t in trades if t.closed_at >= since]


def period(trades: Sequence[Trade]) -> tuple[datetime, datetime] | None:
    """From the first trade's publication (its close when unknown) to the last close."""
    if not trades:
        return None
    first = min(t.opened_at or t.closed_at for t in trades)
    return first, max(t.closed_at for t in trades)


BENCHMARK = "BTC"
DEFAULT_QUOTE = "USDT"


def benchmark_pair(trades: Sequence[Trade]) -> str:
    """BTC in the quote most of the trades' symbols use ("BTC/USDT"); ties go to the
    first in alphabetical order, and USDT when no symbol names a known quote."""
    quotes = Counter(
        pair.split("/")[1] for t in trades if (pair := cornix.pair(t.symbol.upper())) is not None
    )
    if not quotes:
        return f"{BENCHMARK}/{DEFAULT_QUOTE}"
    quote = min(quotes, key=lambda q: (-quotes[q], q))
    return f"{BENCHMARK}/{quote}"


@dataclass(frozen=True, slots=True)
class Holding:
    """The start balance held in the benchmark asset from one price to another."""

    pair: str
    start: Decimal
    first_price: Decimal
    last_price: Decimal
    end: Decimal
    return_pct: Decimal


def holding(
    pair: str, first_price: Decimal, last_price: Decimal, *, start: Decimal = Decimal(10_000)
) -> Holding:
    """`start` spent on the asset at `first_price`, valued at `last_price`; no fees."""
    if first_price <= 0 or last_price < 0:
        raise ValueError("a price must be positive")
    end = start * last_price / first_price
    return Holding(
        pair=pair,
        start=start,
        first_price=first_price,
        last_price=last_price,
        end=end.quantize(TWO_PLACES),
        return_pct=((end - start) * 100 / start).quantize(TWO_PLACES),
    )
