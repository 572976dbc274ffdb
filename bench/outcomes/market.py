"""The bench's market: 50 symbols, four signals on each (two longs, two shorts, targets
and stops within a few percent of 100), and candles scripted for each symbol: a seeded
random walk around 100 (passes.py), or a flat 100 with one touch at a time (delay.py)."""

from __future__ import annotations

import random
from decimal import ROUND_HALF_UP, Decimal

SYMBOLS = [f"B{n:02d}USDT" for n in range(50)]
TICK = Decimal("0.0001")
OHLC = tuple[str, str, str, str]


def walk_lines(symbol: str) -> list[str]:
    """What passes.py posts on `symbol`: levels the walk crosses now and then."""
    return [
        f"{symbol} long entry 99.5 sl 97 tp 101 102.5 104",
        f"{symbol} long entry 100 sl 98 tp 101.5 103",
        f"{symbol} short entry 100.5 sl 103 tp 99 97.5",
        f"{symbol} short entry 100 sl 102 tp 98.5 97",
    ]


def flat_lines(symbol: str) -> list[str]:
    """What delay.py posts on `symbol`: longs a flat 100 fills at once, with first targets
    at 105, 106, 107 and 108, so a touch of 105.5 hits exactly one signal's."""
    return [f"{symbol} long entry 100 sl 95 tp {105 + n} 112" for n in range(4)]


def _price(value: float) -> Decimal:
    return Decimal(repr(value)).quantize(TICK, rounding=ROUND_HALF_UP)


def walk(index: int, seed: int, minutes: int) -> list[OHLC]:
    """`minutes` candles of symbol `index`: a random walk from 100, 0.35 % a minute, with
    wicks; the same for the same seed (the fake scripts it, the bench checks against it)."""
    rng = random.Random(seed * 1000 + index)
    price, candles = 100.0, list[OHLC]()
    for _ in range(minutes):
        close = price * (1 + rng.gauss(0, 0.35) / 100)
        high = max(price, close) * (1 + abs(rng.gauss(0, 0.15)) / 100)
        low = min(price, close) * (1 - abs(rng.gauss(0, 0.15)) / 100)
        o, h, low_, c = (str(_price(value)) for value in (price, high, low, close))
        candles.append((o, h, low_, c))
        price = close
    return candles
