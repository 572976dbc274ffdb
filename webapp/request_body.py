"""Reading request bodies within bounds, as JSON the rest of the code can trust.

Every route that takes a body reads it here: at most `limit` bytes whatever the framing (a
chunked body has no Content-Length to check up front), within BODY_TIMEOUT seconds however
slowly it trickles in, and parsed by bot.core.safe_input. Anything else is a BodyError, which
the error middleware answers with 400 or 413; nothing runs.
"""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import web

from bot.core.safe_input import UnsafeInputError, parse_json

BODY_TIMEOUT = 10.0
_CHUNK = 64 * 1024


class BodyError(Exception):
    """A body we refuse; `status` is 400 or 413."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


async def read_body(request: web.Request, limit: int) -> bytes:
    """The raw body, at most `limit` bytes."""
    if request.content_length is not None and request.content_length > limit:
        raise BodyError(413, "request body too large")
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > limit:
                    raise BodyError(413, "request body too large")
                chunks.append(chunk)
    except TimeoutError:
        raise BodyError(400, "request body not received in time") from None
    return b"".join(chunks)


def parse(raw: bytes) -> Any:
    try:
        return parse_json(raw)
    except UnsafeInputError as error:
        raise BodyError(400, str(error)) from None


async def json_object(request: web.Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object (an empty body is an empty object)."""
    raw = await read_body(request, limit)
    value = parse(raw) if raw.strip() else {}
    if not isinstance(value, dict):
        raise BodyError(400, "body must be a JSON object")
    return value
