"""Cornix's published signal rules, as data and pure checks (SIGNAL_STYLE=cornix).

A subscriber can forward our chat to Cornix (or a bot that reads the same way) and have it
trade our signals. What such a bot reads, from Cornix's help centre:

- Signal Posting, https://help.cornix.io/en/articles/5814956-signal-posting : a full coin
  pair name (BTC/USD); the Buy or Entry keyword; the Sell or Stop keyword; take-profits
  after Take Profit, Sell, Target or TP; a stop may not be above the entry of a long nor
  below the entry of a short; LONG or SHORT may be left out (read from the prices);
  "100-200" is TWO entries, a range needs the word "zone" ("Buy zone 100-200"); leverage
  after the keyword Leverage or Lev; avoid variations of keywords (write Stop, not S/L) and
  emojis; "above"/"below" turn a signal into a breakout trade; at most 7 signals in one
  minute.
- Free Text Trade, https://help.cornix.io/en/articles/5814928-free-text-trade : the parts
  of a signal by name: Symbol, Entry targets, Take-Profit targets, Stop targets, Leverage,
  trade type (Regular or Breakout), Short/Long.
- Leverage, https://help.cornix.io/en/articles/5814858-leverage : the margin type is
  Isolated or Cross, copied from the signal unless the follower chose their own.
- Some prices are too far from each other:
  https://help.cornix.io/en/articles/11382662-some-prices-are-too-far-from-each-other-current-price
  entry, take-profit and stop prices at most 10x apart (larger / smaller), else the signal
  does not go through (also against the market price, which we cannot see here).
- Signal Cancellation, https://help.cornix.io/en/articles/5814961-signal-cancellation : a
  reply to a signal with CLOSE, CANCEL or EXIT closes it for everyone following it; the same
  words with the pair close every open signal of that pair.

Read here through a search index of the pages' text; the sample-signal picture in the
first two articles could not be seen, so the layout (bot/texts/cornix.py) follows the words
above and Cornix's own published-signal form ("Entry Targets:", "1) 65000").
"""

from __future__ import annotations

import re
from decimal import Decimal

from bot.signals.spec import SignalSpec

POSTS_PER_MINUTE = 7  # "up to 7 signals in a one-minute time frame"
MAX_PRICE_RATIO = Decimal(10)  # entry, targets and stop at most 10x apart
# The margin type a leveraged signal names. Isolated: a trade gone wrong can lose its own
# margin and no more, the safer choice for people who follow without watching; a
# follower's own Cornix settings still win over it.
MARGIN = "Isolated"

# Quote assets, longest first, to write BTCUSDT as BTC/USDT.
QUOTES = (
    "FDUSD",
    "USDT",
    "USDC",
    "BUSD",
    "TUSD",
    "USD",
    "DAI",
    "EUR",
    "GBP",
    "TRY",
    "BRL",
    "BTC",
    "ETH",
    "BNB",
)
_SEPARATED = re.compile(r"^([A-Z0-9]+)[/._-]([A-Z0-9]+)$")

# Words that make a bot read free text (a signal's note) as part of the signal: its
# keywords, and the breakout triggers. Whole words. The side's own word may appear (a long
# may say "long-term"), the other side's may not (bot_word).
_BOT_WORDS = re.compile(
    r"\b(entry|entries|enter|buy|sell|stops?|sl|targets?|tp[0-9]*|take[\s-]*profits?|"
    r"lev|leverage|zone|above|below|close|cancel|exit)\b",
    re.IGNORECASE,
)
# Words that close a followed signal when they appear in a reply to it, and their forms
# ("closed", "closing", "cancelled"): a bot matching loosely must not close a trade that a
# take-profit only reduced.
_EXIT_WORDS = re.compile(r"\b(clos(e|ed|es|ing)|cancel\w*|exit\w*)\b", re.IGNORECASE)


def posts_per_minute(style: str) -> int | None:
    """The most signals a minute a provider may post in `style` (SIGNAL_STYLE): Cornix's
    limit when bots read them; no limit of ours in the classic style."""
    return POSTS_PER_MINUTE if style == "cornix" else None


def pair(symbol: str) -> str | None:
    """The symbol as a coin pair with a slash (BTCUSDT -> BTC/USDT), or None when its quote
    asset is not one we know."""
    separated = _SEPARATED.match(symbol)
    if separated:
        return f"{separated.group(1)}/{separated.group(2)}"
    for quote in QUOTES:
        base = symbol.removesuffix(quote)
        if base != symbol and base.isalnum():
            return f"{base}/{quote}"
    return None


def prices(spec: SignalSpec) -> list[Decimal]:
    """Every price a bot places an order at."""
    entries = [spec.entry_low, spec.entry_high] if spec.is_range else [spec.entry_low]
    return [*entries, *spec.take_profits, spec.stop_loss]


def too_far(spec: SignalSpec) -> Decimal | None:
    """The price farthest from the entry when the prices are more than MAX_PRICE_RATIO
    apart (the one to change), else None."""
    levels = prices(spec)
    low, high = min(levels), max(levels)
    if high / low <= MAX_PRICE_RATIO:
        return None
    return high if high / spec.entry_mid >= spec.entry_mid / low else low


def bot_word(text: str, side: str) -> str | None:
    """The first word in `text` that a bot would read as part of a `side` signal."""
    found = _BOT_WORDS.search(text)
    other = re.search(r"\b(short)\b" if side == "long" else r"\b(long)\b", text, re.I)
    first = min((m for m in (found, other) if m), key=lambda m: m.start(), default=None)
    return first.group(0) if first else None


def exit_word(text: str) -> str | None:
    """The first word in `text` that closes a followed signal when replied."""
    found = _EXIT_WORDS.search(text)
    return found.group(0) if found else None
