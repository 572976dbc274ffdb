"""Outcomes from market prices (PRICE_SOURCE, OUTCOMES): the rules, the exchange read
through ccxt, the watcher, and what an admin's confirmation records."""
