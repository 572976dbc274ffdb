"""Each web request is answered in its reader's language.

The Mini App sends the language it shows in `Accept-Language` (the user's, as GET /me
reports it); a browser opening the public track record sends its own, and `?lang=` wins
over both (a shared link in one language). Only the first tag counts: the Mini App sends
one, and a browser lists its first choice first. Anything not offered reads
DEFAULT_LANGUAGE. What a handler renders with bot.texts reads in that language.
"""

from __future__ import annotations

from functools import lru_cache

from aiohttp import web
from aiohttp.typedefs import Handler

from bot.core import languages
from bot.texts import CATALOGUE
from webapp.keys import SETTINGS

MAX_TAG = 35  # longer than any real language tag


def requested(request: web.Request, default: str) -> str:
    """The offered language a request asks for, or `default`."""
    # The feed is the hottest route: skip parsing a query string that names no language.
    query = request.rel_url.query_string
    asked = (request.query.get("lang") if "lang=" in query else None) or request.headers.get(
        "Accept-Language"
    )
    return _offered(asked, default) if asked else default


@lru_cache(maxsize=256)
def _offered(asked: str, default: str) -> str:
    first = asked[: MAX_TAG * 4].split(",", maxsplit=1)[0].split(";", maxsplit=1)[0][:MAX_TAG]
    return languages.normalized(first) or default


@web.middleware
async def language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    language = requested(request, request.app[SETTINGS].default_language)
    # The catalogue's context variable, set and reset by hand: contextlib's use_locale()
    # costs more than the rest of this on the feed's path.
    token = CATALOGUE.ctx_locale.set(language)
    try:
        return await handler(request)
    finally:
        CATALOGUE.ctx_locale.reset(token)
