"""Money as Stripe counts it (integer minor units) and as people read it.

Apart from plans.py, which imports the Stripe library: the delivery worker renders amounts
in notices and must not load Stripe (and requests) for that.
"""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency, format_decimal

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


STARS = "xtr"  # Telegram Stars: whole Stars, counted apart from money


def format_amount(amount: int, currency: str, locale: str = "en") -> str:
    """Integer minor units as people of `locale` (a Babel locale) read money: 4900 usd is
    $49.00 in English and 49,00 $ in Russian; 250 xtr is 250 ⭐."""
    code = currency.lower()
    if code == STARS:
        return f"{format_decimal(amount, locale=locale)} ⭐"
    if code in ZERO_DECIMAL:
        return format_currency(amount, code.upper(), locale=locale)
    # Stripe's minor units, not CLDR's digits, say where the point is (they differ for a
    # few currencies, ISK and HUF among them).
    value = Decimal(amount) / 100
    return format_currency(value, code.upper(), locale=locale, currency_digits=False)
