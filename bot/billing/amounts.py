"""Money as Stripe counts it (integer minor units) and as people read it.

Apart from plans.py, which imports the Stripe library: the delivery worker renders amounts
in notices and must not load Stripe (and requests) for that.
"""

from __future__ import annotations

# Currencies Stripe treats as zero-decimal (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
CURRENCY_SYMBOLS = {"usd": "$", "eur": "€", "gbp": "£", "jpy": "¥", "inr": "₹"}


STARS = "xtr"  # Telegram Stars: whole Stars, counted apart from money


def format_amount(amount: int, currency: str) -> str:
    """Integer minor units to a display string: 4900 usd -> $49.00, 250 xtr -> 250 ⭐."""
    code = currency.lower()
    if code == STARS:
        return f"{amount:,} ⭐"
    value = str(amount) if code in ZERO_DECIMAL else f"{amount / 100:,.2f}"
    symbol = CURRENCY_SYMBOLS.get(code)
    return f"{symbol}{value}" if symbol else f"{value} {code.upper()}"
