"""Who is calling the Mini App API: the bearer token's user, what their role allows, the
client address."""

from __future__ import annotations

from aiohttp import web

from bot.accounts import roles
from bot.accounts.roles import Permission
from webapp.errors import ApiError
from webapp.keys import SETTINGS, TOKENS


def caller_id(request: web.Request) -> int:
    """The caller's Telegram id from `Authorization: Bearer`, or 401."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(401, "unauthorized", "missing bearer token")
    claims = request.app[TOKENS].verify(token.strip())
    if claims is None:
        raise ApiError(401, "unauthorized", "invalid or expired token; reopen the app")
    return claims.user_id


def require(request: web.Request, *needed: Permission) -> int:
    """The caller's id when their role holds any one of `needed` (bot/accounts/roles.py),
    or 401 (no valid token) / 403 not_allowed, before anything is read or changed."""
    user_id = caller_id(request)
    if not roles.may(user_id, request.app[SETTINGS], *needed):
        raise ApiError(403, "not_allowed", "your role does not allow this")
    return user_id


def client_address(request: web.Request) -> str:
    # request.remote is the peer; behind a reverse proxy that is the proxy, so limits are
    # shared per proxy unless it passes the real address (see docs/miniapp.md).
    return request.remote or "unknown"
