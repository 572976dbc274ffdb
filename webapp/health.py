"""GET /healthz (the process is up) and GET /readyz (the database answers)."""

from __future__ import annotations

import logging

from aiohttp import web
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from webapp.errors import json_error
from webapp.keys import SESSION_FACTORY

log = logging.getLogger(__name__)
routes = web.RouteTableDef()


@routes.get("/healthz")
async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/readyz")
async def readyz(request: web.Request) -> web.Response:
    try:
        async with request.app[SESSION_FACTORY]() as session:
            await session.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError) as error:
        log.warning("readiness check failed: %s", type(error).__name__)
        return json_error(503, "database unreachable")
    return web.json_response({"status": "ready"})
