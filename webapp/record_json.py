"""GET /track-record.json and GET /track-record.csv: the verifiable record, whole (format
signaldesk-record/1, docs/track-record.md): every entry of the hash chain with its
commitment, the contents and salts of those revealed, and the outcomes of the signals
closed; the CSV has the same entries, one row each. Public like the page, cached as long,
and readable from any origin so a verifier can run in a browser."""

from __future__ import annotations

import functools
import json
from datetime import UTC, datetime

from aiohttp import web

from bot.admin.csv_rows import lines
from bot.signals import record_csv, record_store
from webapp.keys import SETTINGS, UNIT_OF_WORK
from webapp.track_record import CACHE

routes = web.RouteTableDef()
_dumps = functools.partial(json.dumps, ensure_ascii=False, separators=(",", ":"))
CSV_PATH = "/track-record.csv"


@routes.get("/track-record.json")
async def record_json(request: web.Request) -> web.Response:
    brand = request.app[SETTINGS].brand_name
    async with request.app[UNIT_OF_WORK].reading() as session:
        body = await record_store.document(session, brand=brand, now=datetime.now(UTC))
    headers = {"Cache-Control": CACHE, "Access-Control-Allow-Origin": "*"}
    return web.json_response(body, headers=headers, dumps=_dumps)


@routes.get(CSV_PATH)
async def record_csv_download(request: web.Request) -> web.StreamResponse:
    """The record as CSV (RFC 4180, UTF-8, formula cells neutralised), streamed as it is
    read: a batch of entries in memory at a time."""
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": 'attachment; filename="track-record.csv"',
            "Cache-Control": CACHE,
            "Access-Control-Allow-Origin": "*",
        }
    )
    await response.prepare(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        async for chunk in lines(record_csv.HEADER, record_csv.rows(session)):
            await response.write(chunk.encode())
    await response.write_eof()
    return response
