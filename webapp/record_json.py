"""GET /track-record.json: the verifiable record, whole (format signaldesk-record/1,
docs/track-record.md): every entry of the hash chain with its commitment, the contents and
salts of those revealed, and the outcomes of the signals closed. Public like the page,
cached as long, and readable from any origin so a verifier can run in a browser."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from aiohttp import web

from bot.signals import record_store
from webapp.keys import SETTINGS, UNIT_OF_WORK
from webapp.track_record import CACHE

routes = web.RouteTableDef()
_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))


@routes.get("/track-record.json")
async def record_json(request: web.Request) -> web.Response:
    brand = request.app[SETTINGS].brand_name
    async with request.app[UNIT_OF_WORK].reading() as session:
        body = await record_store.document(session, brand=brand, now=datetime.now(UTC))
    headers = {"Cache-Control": CACHE, "Access-Control-Allow-Origin": "*"}
    return web.json_response(body, headers=headers, dumps=_dumps)
