"""Each web request is answered in its reader's language.

The Mini App sends the language it shows in `Accept-Language` (the user's, as GET /me
reports it); a browser opening the public track record sends its own, and `?lang=` wins
over both (a shared link in one language). Only the first tag counts: the Mini App sends
one, and a browser lists its first choice first. Anything not offered reads
DEFAULT_LANGUAGE. What a handler renders with bot.chat.texts reads in that language.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Handler

from bot import languages
from bot.chat.texts import CATALOGUE
from webapp.keys import SETTINGS

MAX_TAG = 35  # longer than any real language tag


def requested(request: web.Request, default: str) -> str:
    """The offered language a request asks for, or `default`."""
    asked = request.query.get("lang") or request.headers.get("Accept-Language") or ""
    first = asked.split(",")[0].split(";")[0][:MAX_TAG]
    return languages.normalized(first) or default


@web.middleware
async def language_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    language = requested(request, request.app[SETTINGS].default_language)
    with CATALOGUE.use_locale(language):
        return await handler(request)
