"""GET /api/v1/admin/exports/{subscribers|payments|signals}.csv[?since=YYYY-MM-DD]: the same
CSV as `python -m bot export` (bot/admin/exports.py, bot/admin/csv_rows.py), streamed to
the admin's browser as it is read: 100,000 rows in the memory of a batch."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.accounts.roles import Permission
from bot.admin.csv_rows import lines
from bot.admin.exports import HEADERS, Export, rows, since_of
from bot.audit import log as audit
from bot.audit.log import Actor
from webapp.callers import require
from webapp.errors import ApiError
from webapp.keys import UNIT_OF_WORK

routes = web.RouteTableDef()


def _kind(request: web.Request) -> Export:
    name = request.match_info["kind"]
    try:
        return Export(name)
    except ValueError:
        raise ApiError(404, "not_found", "exports: subscribers, payments, signals") from None


@routes.get("/api/v1/admin/exports/{kind}.csv")
async def export_csv(request: web.Request) -> web.StreamResponse:
    admin_id = require(request, Permission.EXPORT, Permission.READ_AUDIT)
    kind = _kind(request)
    # The audit log watches the staff: its CSV is for those who read it (owners).
    require(request, Permission.READ_AUDIT if kind is Export.AUDIT else Permission.EXPORT)
    try:
        since = since_of(request.query.get("since"))
    except ValueError as error:
        raise ApiError(400, "bad_request", str(error)) from None
    day = datetime.now(UTC).date().isoformat()
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/csv; charset=utf-8",
            "Content-Disposition": f'attachment; filename="{kind}-{day}.csv"',
            "Cache-Control": "no-store",
        }
    )
    await response.prepare(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        async for chunk in lines(HEADERS[kind], rows(session, kind, since)):
            await response.write(chunk.encode())
    await response.write_eof()
    async with request.app[UNIT_OF_WORK]() as session:
        after = {"since": since}
        await audit.record(
            session, Actor.admin(admin_id), audit.Action.EXPORT, datetime.now(UTC),
            target=str(kind), after=after,
        )  # fmt: skip
    return response
