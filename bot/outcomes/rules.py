"""What an exchange's candles say about a signal: its entry filled, each take-profit hit, the
stop. Pure: a signal's levels, how far it has come, and one-minute candles in; the events
out, in order. bot/outcomes/watcher.py fetches the candles and acts on the events.

The rules (README.md "Outcomes from market prices" states them for providers):

- **Wicks count.** A level is touched when a candle's high or low reaches it, not when a
  polled last price happens to: a long's take-profit at the high (high >= tp), its stop
  at the low (low <= sl), a long's entry when the low comes down to the entry (low <=
  entry_high: a buy limit fills at or below its price; a zone fills at its first touch).
  A short is the mirror (low <= tp, high >= sl, high >= entry_low).
- **At the level.** An event is priced at the level the signal named, also when a candle
  opened beyond it (a gap): the record compares what the provider planned, as /update
  without a price does. An entry is priced where the candle first met the zone: its open,
  held within the zone (so a zone above the market fills at its top, for a long).
- **Nothing before the entry.** A target or a stop before the entry filled does not count:
  the trade was not on. In the candle that fills the entry a target does not count either
  (whether the price met the target before or after the entry cannot be told from one
  candle); the stop does, since a long's price falling through its entry reaches its stop
  after it (the stop lies beyond the entry).
- **Target and stop in one candle: the stop.** Which came first cannot be told, and a
  track record must not claim a win it cannot show.
- **Several targets in one candle** count in order, nearest first. The stop stays where
  the signal put it after a target (no move to break-even), as /update has it.
- **Only candles that start at or after the signal's publication**: an earlier candle may
  hold a price from before the signal existed.

Candles must be closed (the last one still forming is left for the next check) and in
time order; checking them in two parts, with the progress carried over, gives the same
events as checking them at once (tests/unit/test_outcome_rules.py), which is what makes a
replay after an outage or a restart say what a live check would have said.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from bot.signals.spec import SignalSpec

ENTRY = "entry"
STOP = "sl"


def target(number: int) -> str:
    """A take-profit's event kind, as /update names it: tp1, tp2, ..."""
    return f"tp{number}"


@dataclass(frozen=True, slots=True)
class Candle:
    """One closed candle: its start (UTC) and its prices."""

    start: datetime
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True, slots=True)
class Progress:
    """How far a signal has come: whether its entry filled, how many take-profits were
    hit (from prices, or declared with /update), and whether it is over."""

    filled: bool = False
    targets_hit: int = 0
    over: bool = False


@dataclass(frozen=True, slots=True)
class Event:
    """What prices say happened: `kind` (entry, tp1.., sl), priced at `price`, in the
    candle that started at `candle`."""

    kind: str
    price: Decimal
    candle: datetime


def _reaches(candle: Candle, level: Decimal, *, upward: bool) -> bool:
    """Whether the candle reached `level` going up (high >= level) or down (low <=
    level): for a long a take-profit is up; for a short, down."""
    return candle.high >= level if upward else candle.low <= level


def entry_touched(spec: SignalSpec, candle: Candle) -> bool:
    if spec.side == "long":
        return candle.low <= spec.entry_high
    return candle.high >= spec.entry_low


def stop_touched(spec: SignalSpec, candle: Candle) -> bool:
    return _reaches(candle, spec.stop_loss, upward=spec.side == "short")


def target_touched(spec: SignalSpec, candle: Candle, number: int) -> bool:
    level = spec.take_profits[number - 1]
    return _reaches(candle, level, upward=spec.side == "long")


def fill_price(spec: SignalSpec, candle: Candle) -> Decimal:
    """Where the candle met the entry: its open, held within the zone."""
    return min(max(candle.open, spec.entry_low), spec.entry_high)


def events(spec: SignalSpec, progress: Progress, candles: Iterable[Candle]) -> list[Event]:
    """The events `candles` (closed, in time order) add to a signal at `progress`."""
    found: list[Event] = []
    filled, hit = progress.filled, progress.targets_hit
    if progress.over or hit >= len(spec.take_profits):
        return found
    for candle in candles:
        filling = not filled
        if filling:
            if not entry_touched(spec, candle):
                continue
            filled = True
            found.append(Event(ENTRY, fill_price(spec, candle), candle.start))
        if stop_touched(spec, candle):
            found.append(Event(STOP, spec.stop_loss, candle.start))
            return found
        if filling:
            continue
        while hit < len(spec.take_profits) and target_touched(spec, candle, hit + 1):
            hit += 1
            found.append(Event(target(hit), spec.take_profits[hit - 1], candle.start))
        if hit == len(spec.take_profits):
            return found
    return found


def after(progress: Progress, found: Iterable[Event], targets: int) -> Progress:
    """The progress once `found` is recorded (`targets`: how many the signal has)."""
    filled, hit, over = progress.filled, progress.targets_hit, progress.over
    for event in found:
        if event.kind == ENTRY:
            filled = True
        elif event.kind == STOP:
            over = True
        else:
            hit = max(hit, int(event.kind[2:]))
            over = over or hit >= targets
    return Progress(filled, hit, over)
