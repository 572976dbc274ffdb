"""Which of the exchange's markets a signal's symbol names. Pure: the symbol as posted and
ccxt's markets (unified symbol -> market) in, the market's unified symbol out.

BTCUSDT, BTC/USDT and BTC-USDT all name BTC/USDT (bot/signals/cornix.py splits a symbol
by the quote assets it knows): the spot market if the exchange lists it and trades it,
else its linear perpetual (BTC/USDT:USDT), the futures leveraged signals are usually
traded on. Neither: the exchange does not list it (the admins are told once).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.signals import cornix


def market_for(symbol: str, markets: Mapping[str, Mapping[str, Any]]) -> str | None:
    pair = cornix.pair(symbol.upper())
    if pair is None:
        return None
    quote = pair.split("/")[1]
    for candidate in (pair, f"{pair}:{quote}"):
        market = markets.get(candidate)
        if market is not None and market.get("active") is not False:
            return candidate
    return None
