"""Every word the bot and the Mini App show, from one catalogue keyed by message id.

The catalogue is gettext through aiogram's I18n: locales/<language>/LC_MESSAGES/messages.po,
compiled to messages.mo by `make texts` (Babel). English only for now; a language is added
as one more .po file. Message ids are names (`start.welcome`), not English sentences, so a
change of wording changes no key. Texts are HTML, Telegram's parse mode; placeholders are
`{name}` (str.format, so `{count:,}` too), and text that fills them is escaped unless it is
Html already (a rendered piece). The modules beside this one render the domain's data with
it; tests/project/test_texts.py holds the catalogue and the code to each other.
"""

from __future__ import annotations

import html
import logging
import string
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from aiogram.utils.i18n import I18n
from babel.dates import format_date as babel_date
from babel.dates import format_datetime as babel_datetime
from babel.numbers import format_decimal

from bot.core.languages import LANGUAGES
from bot.payments.amounts import format_amount

log = logging.getLogger(__name__)

LOCALES = Path(__file__).with_name("locales")
DEFAULT_LOCALE = "en"
CATALOGUE = I18n(path=LOCALES, default_locale=DEFAULT_LOCALE, domain="messages")
DEFAULT_BRAND = "SignalDesk"
# The provider's name (BRAND_NAME) wherever a text says `{brand}`: no text in any language
# spells a product name. Set once by the composition root (bot.app.build).
_brand = {"name": DEFAULT_BRAND}


def use_brand(name: str) -> None:
    _brand["name"] = name


def brand() -> str:
    return _brand["name"]


class Html(str):
    """Text that is HTML already: placed into another text as it is, not escaped again."""

    __slots__ = ()


def _value(value: object) -> object:
    if isinstance(value, Html):
        return value
    if isinstance(value, str):
        return html.escape(value, quote=False)
    return value  # numbers keep their format specs ({count:,})


class _LocalNumbers(string.Formatter):
    """str.format, with `{count:,}` grouped as the language groups digits (1 234 in
    Russian, 1.234 in Spanish): the catalogue keeps Python's spelling of "grouped", which
    is English's, so English needs no Babel (see format_date)."""

    def format_field(self, value: object, format_spec: str) -> str:
        locale = babel_locale()
        if format_spec == "," and isinstance(value, int | float | Decimal) and locale != "en":
            return str(format_decimal(value, locale=locale))
        return str(super().format_field(value, format_spec))


_NUMBERS = _LocalNumbers()


def _filled(template: str, key: str, params: dict[str, object]) -> Html:
    if template == key:
        log.error("text %r is missing from the catalogue", key)
    values = {name: _value(v) for name, v in params.items()}
    if "{brand}" in template:
        values.setdefault("brand", _value(brand()))
    if ":,}" in template:
        return Html(_NUMBERS.format(template, **values))
    return Html(template.format(**values))


def t(key: str, /, **params: object) -> Html:
    """The text `key` in the current language, its placeholders filled. (The language is
    the catalogue's context: `with CATALOGUE.use_locale("en"): ...`.)"""
    return _filled(CATALOGUE.gettext(key), key, params)


def tn(key: str, count: int, /, **params: object) -> Html:
    """The plural text `key` for `count` (the .po holds `key` and `key.plural`)."""
    template = CATALOGUE.gettext(key, f"{key}.plural", count)
    missing_as = key if count == 1 else f"{key}.plural"
    return _filled(template, missing_as, {"count": count, **params})


def plain(key: str, /, **params: object) -> str:
    """A text shown without HTML: a button, a command's description, a callback alert."""
    return html.unescape(t(key, **params))


def plain_n(key: str, count: int, /, **params: object) -> str:
    return html.unescape(tn(key, count, **params))


def language() -> str:
    """The language texts are rendered in now (set per update, per request, per send)."""
    return CATALOGUE.current_locale


def babel_locale() -> str:
    """The Babel locale of the current language (a test's pseudo-language reads English)."""
    current = CATALOGUE.current_locale
    return current if current in LANGUAGES else DEFAULT_LOCALE


def format_date(moment: datetime) -> str:
    """A day as the language writes it: 04 Dec 2026, 04 дек. 2026 (UTC)."""
    locale, day = babel_locale(), moment.astimezone(UTC)
    if locale == "en":
        # What Babel writes for English, without loading its CLDR data (about 4.5 MB the
        # first time, a lot for the delivery worker): Python's C-locale month names.
        return day.strftime("%d %b %Y")
    return babel_date(day, "dd MMM y", locale=locale)


def format_moment(moment: datetime) -> str:
    """A day and time (UTC): 04 Dec 2026 14:05."""
    return babel_datetime(moment, "dd MMM y HH:mm", tzinfo=UTC, locale=babel_locale())


def money(amount: int, currency: str) -> str:
    """Stripe's minor units (or Stars) as the language writes money."""
    return format_amount(amount, currency, babel_locale())


def keys(locale: str = DEFAULT_LOCALE) -> set[str]:
    """Every message id in `locale`'s catalogue (plural forms under their singular id)."""
    catalog = CATALOGUE.locales[locale]._catalog  # type: ignore[attr-defined]
    return {k if isinstance(k, str) else k[0] for k in catalog if k}
