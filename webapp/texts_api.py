"""GET /api/v1/texts: the Mini App's words (the catalogue's app.* ids) in one language.

Public and cacheable: the same for everyone who reads that language, fixed until a deploy.
The language is the request's (webapp/language.py: `?lang=`, which the Mini App sends,
else Accept-Language). Placeholders are left for the front end to fill; a plural text is
one form per CLDR plural category of the language (`{"one": .., "few": .., "many": ..}` in
Russian), which the front end picks with Intl.PluralRules, as Babel picks in the chat.
"""

from __future__ import annotations

import json
from functools import cache

from aiohttp import web
from babel import Locale

from bot.core.languages import bcp47
from bot.texts import CATALOGUE, babel_locale, brand, keys, language

routes = web.RouteTableDef()

APP_TEXTS = "app."  # the catalogue's Mini App texts: ids under app.*
TEXTS_CACHE = "public, max-age=300"
_SAMPLES = range(0, 200)  # integers enough to meet every category a language has for them


def _samples(babel: str) -> dict[str, int]:
    """One integer per plural category of the language (`other` in Russian takes only
    fractions: it gets its `many` form, the one gettext gives 5)."""
    rule = Locale.parse(babel).plural_form
    found: dict[str, int] = {}
    for n in _SAMPLES:
        found.setdefault(rule(n), n)
    found.setdefault("other", 5)
    return found


def app_texts(locale: str, babel: str, name: str) -> dict[str, str | dict[str, str]]:
    """The Mini App's texts in `locale` (a catalogue), plurals by `babel`'s categories,
    with the provider's `name` in place of {brand} (the page's own placeholders are left
    for it to fill; the page puts text in with textContent, never as HTML)."""
    translations = CATALOGUE.locales[locale]
    samples = _samples(babel)
    texts: dict[str, str | dict[str, str]] = {}
    for key in sorted(k for k in keys(locale) if k.startswith(APP_TEXTS)):
        plural = f"{key}.plural"
        if translations.ngettext(key, plural, 2) == plural:  # not a plural text
            texts[key] = translations.gettext(key).replace("{brand}", name)
        else:
            texts[key] = {
                tag: translations.ngettext(key, plural, n).replace("{brand}", name)
                for tag, n in samples.items()
            }
    return texts


@cache
def _texts_body(locale: str, babel: str, name: str) -> bytes:
    body = {"locale": bcp47(babel), "language": locale, "texts": app_texts(locale, babel, name)}
    return json.dumps(body, ensure_ascii=False).encode()


@routes.get("/api/v1/texts")
async def texts(_request: web.Request) -> web.Response:
    """Public: the words of the page, no one's data."""
    return web.Response(
        body=_texts_body(language(), babel_locale(), brand()),
        content_type="application/json",
        charset="utf-8",
        # Set here: the security headers only set no-store where a route has said nothing.
        headers={"Cache-Control": TEXTS_CACHE, "Vary": "Accept-Language"},
    )
