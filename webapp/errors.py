"""JSON error bodies and the middleware that guarantees no traceback ever leaves the server."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from db.faults import DATABASE_FAULTS, describe_fault
from webapp.request_body import BodyError

log = logging.getLogger(__name__)

CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
# How long a client should wait before asking again while the database is away: about how
# long a connection cut or a failover takes to heal.
DATABASE_RETRY_AFTER = 5


class ApiError(Exception):
    """Raised by a route to answer with a JSON error; the middleware renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


# Errors with an answer of their own (_answer); anything else is a bug: a logged 500.
_EXPECTED: tuple[type[Exception], ...] = (BodyError, ApiError, *DATABASE_FAULTS)


def json_error(status: int, message: str, code: str | None = None) -> web.Response:
    """`{"error": {"code": ..., "message": ...}}` with the given HTTP status."""
    return web.json_response(
        {"error": {"code": code or CODES.get(status, "error"), "message": message}},
        status=status,
    )


def _answer(request: web.Request, error: Exception) -> web.Response:
    """The JSON answer to an error we expect: bad input, a route's own, the database away.

    The database away is an outage, not a bug: one line, and a 503 that says when to come
    back (it was a 500 with a traceback, and monitoring's /metrics went blind with it).
    """
    if isinstance(error, BodyError):
        return json_error(error.status, error.message)
    if isinstance(error, ApiError):
        body = {"code": error.code, "message": error.message, **error.extra}
        return web.json_response({"error": body}, status=error.status, headers=error.headers)
    log.warning(
        "%s %s: the database is unavailable (%s)",
        request.method,
        logged_path(request),
        describe_fault(error),
    )
    response = json_error(
        503, "the database is unavailable; try again shortly", "database_unavailable"
    )
    response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
    return response


def logged_path(request: web.Request) -> str:
    """The path as a log line may show it: a secret in it (TradingView's alert URL, right
    or wrong) left out, whether or not the log's redaction knows it."""
    secret = request.match_info.get("secret")
    return request.path.replace(secret, "<secret>") if secret else request.path


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own HTTP errors become JSON; the database away is a 503 with Retry-After;
    anything unexpected is a logged, bare 500."""
    try:
        response = await handler(request)
    except _EXPECTED as error:
        return _answer(request, error)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_error(error.status, error.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, logged_path(request))
        return json_error(500, "internal error")
    if response.status >= 400 and response.content_type == "text/plain":
        # Library handlers (aiogram's webhook 401) answer in plain text; keep one error shape.
        return json_error(response.status, response.reason or "error")
    return response


def rail_not_offered(rail: str) -> ApiError:
    """A payment rail PAYMENT_RAILS does not offer: 403, as the request is understood and
    the caller authenticated, but this bot does not take that kind of payment (409 would
    say the caller's own state is in the way, and retrying would never help)."""
    name = {"stripe": "Stripe", "stars": "Telegram Stars"}.get(rail, rail)
    return ApiError(403, "rail_not_offered", f"payments through {name} are not offered here")


def please_wait(retry_after: int) -> ApiError:
    """429 with Retry-After: too many of the user's payment requests just now, or one of
    theirs is making the same link; nothing was made."""
    return ApiError(
        429,
        "too_many_requests",
        "please wait a moment and try again",
        headers={"Retry-After": str(retry_after)},
    )
