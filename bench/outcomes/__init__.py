"""Outcomes from market prices: the price watcher over 200 open signals on 50 symbols,
against the fake Binance (tests/support/fakes/exchange.py) in a process of its own, read
by ccxt over real HTTP.

`market.py` (the symbols, the signals, the scripted candles), `exchange.py` (the fake
exchange's process and its control endpoint), `seed.py` (subscribers and published
signals), `passes.py` (the watcher's CPU per pass and memory, in this process), `delay.py`
(`python -m bot` end to end: a scripted touch to the subscribers' update), `__main__.py`
(the arguments and the run)."""
