"""JSON error bodies and the middleware that guarantees no traceback ever leaves the server."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

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


class ApiError(Exception):
    """Raised by a route to answer with a JSON error; the middleware renders it."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        extra: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra or {}
        self.headers = headers or {}


def json_error(status: int, message: str, code: str | None = None) -> web.Response:
    """`{"error": {"code": ..., "message": ...}}` with the given HTTP status."""
    return web.json_response(
        {"error": {"code": code or CODES.get(status, "error"), "message": message}},
        status=status,
    )


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """aiohttp's own HTTP errors become JSON; anything unexpected is a logged, bare 500."""
    try:
        response = await handler(request)
    except BodyError as error:
        return json_error(error.status, error.message)
    except ApiError as error:
        body = {"code": error.code, "message": error.message, **error.extra}
        return web.json_response({"error": body}, status=error.status, headers=error.headers)
    except web.HTTPException as error:
        if error.status < 400:
            raise
        return json_error(error.status, error.reason)
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
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
