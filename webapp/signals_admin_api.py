"""The admins' signal routes of the Mini App API: the composer and the signal cards.

A signal is written as one line (`text`, as `/signal` takes it) or field by field
(`signal`, the composer's form: bot/signals/form.py), held to the same rules and to
SIGNAL_STYLE's; the preview is the message subscribers will get. A card is a published
signal with the updates it can still take (the same service as `/update`) and its
delivery report. Contract in webapp/API.md.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from bot.accounts import access
from bot.accounts.roles import Permission
from bot.admin import signal_reports
from bot.core.errors import DomainError
from bot.core.ids import parse_row_id
from bot.delivery.broadcast_counts import Counts
from bot.notices import paid
from bot.notices.kinds import NoticeKind
from bot.signals import channel as signal_channel
from bot.signals import cornix
from bot.signals import service as signals
from bot.signals.form import FormError, read_form
from bot.signals.paste import read_signal
from bot.signals.posting_limit import PostingLimitError
from bot.signals.spec import SignalSpec
from bot.signals.syntax import SignalSyntaxError
from bot.signals.updates import SignalNotFoundError, build_update
from bot.texts import plain
from bot.texts import signals as signal_texts
from webapp import miniapp_views as views
from webapp import signal_forms
from webapp.callers import require
from webapp.errors import ApiError
from webapp.keys import SETTINGS, UNIT_OF_WORK
from webapp.message_runs import runs
from webapp.request_body import json_object
from webapp.signal_cards import card

routes = web.RouteTableDef()

MAX_JSON_BODY = 16 * 1024
MAX_TEXT = 4096

# Where in the update's body each of /update's rules points.
_UPDATE_FIELDS = {
    "syntax.update_kind": "kind",
    "syntax.update_tp_count": "kind",
    "syntax.update_close": "price",
    "syntax.note_long": "note",
    "syntax.note_char": "note",
    "syntax.update_exit_word": "note",
}


def _for_bots(request: web.Request) -> bool:
    return request.app[SETTINGS].signal_style == "cornix"


def _from_text(request: web.Request, text: object) -> SignalSpec:
    """A signal in one line or pasted over several, held to SIGNAL_STYLE's rules."""
    if not isinstance(text, str) or not text.strip():
        raise ApiError(400, "bad_request", "text is required")
    if len(text) > MAX_TEXT:
        raise ApiError(400, "bad_request", "text is too long")
    try:
        return read_signal(text, for_bots=_for_bots(request))
    except SignalSyntaxError as error:
        problem = plain(error.key, **error.params)
        raise ApiError(
            400,
            "invalid_signal",
            f"{error.token!r}: {problem}" if error.token else problem,
            extra={"token": error.token},
        ) from None


def _from_form(request: web.Request, value: object) -> SignalSpec:
    """A signal field by field; a mistake names its field (and row) for the form."""
    try:
        return read_form(signal_forms.signal_form(value), for_bots=_for_bots(request))
    except FormError as failed:
        error = failed.error
        raise ApiError(
            400,
            "invalid_signal",
            plain(error.key, **error.params),
            extra={"token": error.token, "field": failed.field, "index": failed.index},
        ) from None


async def _spec(request: web.Request) -> SignalSpec:
    return (await _spec_and_body(request))[0]


async def _spec_and_body(request: web.Request) -> tuple[SignalSpec, dict[str, Any]]:
    body = await json_object(request, MAX_JSON_BODY)
    return await _spec_of(request, body), body


async def _spec_of(request: web.Request, body: dict[str, Any]) -> SignalSpec:
    if "signal" not in body:
        return _from_text(request, body.get("text"))
    if "text" in body:
        raise ApiError(400, "bad_request", "give the signal as text or as fields, not both")
    return _from_form(request, body["signal"])


def _signal_id(request: web.Request) -> int:
    signal_id = parse_row_id(request.match_info["signal_id"])
    if signal_id is None:
        raise ApiError(400, "bad_request", "signal id must be a number")
    return signal_id


@routes.post("/api/v1/admin/signals/preview")
async def preview_signal(request: web.Request) -> web.Response:
    require(request, Permission.POST_SIGNALS)
    spec = await _spec(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        count = len(await access.recipients(session, datetime.now(UTC)))
    shown = views.spec(spec)
    style = request.app[SETTINGS].signal_style
    return web.json_response(
        {
            "signal": shown,
            "recipients": count,
            "canonical": shown["canonical"],
            "style": style,
            # What subscribers will read (in their own language; this in the caller's).
            "message": runs(signal_texts.body(spec, style=style)),
            # The cost on the paid lane and the time in each (PAID_BROADCAST).
            "lanes": views.lanes(count, request.app[SETTINGS].paid_broadcast),
        }
    )


@routes.post("/api/v1/admin/signals")
async def post_signal(request: web.Request) -> web.Response:
    admin_id = require(request, Permission.POST_SIGNALS)
    spec, body = await _spec_and_body(request)
    choice = body.get("paid", True)  # false: the free rate, though PAID_BROADCAST allows it
    if not isinstance(choice, bool):
        raise ApiError(400, "bad_request", "paid must be true or false")
    fast = choice and paid.covers(request.app[SETTINGS].paid_broadcast, NoticeKind.SIGNAL)
    now = datetime.now(UTC)
    per_minute = cornix.posts_per_minute(request.app[SETTINGS].signal_style)
    try:
        async with request.app[UNIT_OF_WORK]() as session:
            draft = await signals.create_draft(session, spec, admin_id)
            broadcast = await signals.publish(
                session,
                draft.id,
                now,
                per_minute=per_minute,
                channel=signal_channel.rule_of(request.app[SETTINGS]),
                paid=fast,
            )
    except PostingLimitError as error:  # nothing kept: the draft rolled back too
        raise ApiError(
            429,
            "too_many_signals",
            plain(error.key, **error.params),
            headers={"Retry-After": str(error.params["seconds"])},
            extra={"retry_after": error.params["seconds"]},
        ) from None
    # Its card as it stands at the commit: every message still to go.
    counts = Counts(total=broadcast.total, pending=broadcast.total)
    report = signal_reports.SignalReport(draft, broadcast.id, counts)
    return web.json_response(
        {
            "signal_id": draft.id,
            "broadcast_id": broadcast.id,
            "total": broadcast.total,
            "signal": card(report),
        },
        status=201,
    )


@routes.get("/api/v1/admin/signals")
async def signal_cards(request: web.Request) -> web.Response:
    require(request, Permission.POST_SIGNALS)
    async with request.app[UNIT_OF_WORK].reading() as session:
        reports = await signal_reports.recent(session)
    return web.json_response({"signals": [card(report) for report in reports]})


@routes.get("/api/v1/admin/signals/{signal_id}")
async def signal_card(request: web.Request) -> web.Response:
    require(request, Permission.POST_SIGNALS)
    signal_id = _signal_id(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        report = await signal_reports.one(session, signal_id)
    if report is None:
        raise ApiError(404, "not_found", "no such signal")
    return web.json_response(card(report))


@routes.post("/api/v1/admin/signals/{signal_id}/updates")
async def post_update(request: web.Request) -> web.Response:
    """TP n hit, stopped, closed at a price, cancelled: as `/update`, by the same service."""
    admin_id = require(request, Permission.POST_SIGNALS)
    signal_id = _signal_id(request)
    parts = signal_forms.update_parts(await json_object(request, MAX_JSON_BODY))
    try:
        command = build_update(
            signal_id, parts.kind, parts.price, parts.note, for_bots=_for_bots(request)
        )
        async with request.app[UNIT_OF_WORK]() as session:
            _, broadcast = await signals.post_update(
                session,
                command,
                admin_id,
                datetime.now(UTC),
                channel=signal_channel.rule_of(request.app[SETTINGS]),
            )
    except SignalSyntaxError as error:
        raise _update_error(error) from None
    except SignalNotFoundError as error:
        raise ApiError(404, "not_found", _problem(error)) from None
    except DomainError as error:  # a state it cannot take: over, or that TP reported
        raise ApiError(409, "signal_state", _problem(error)) from None
    # The card read after the commit: counting the whole broadcast is no work to hold the
    # write transaction for.
    async with request.app[UNIT_OF_WORK].reading() as session:
        report = await signal_reports.one(session, signal_id)
    assert report is not None  # it took an update, so it is published
    return web.json_response(
        {"signal": card(report), "broadcast_id": broadcast.id, "total": broadcast.total},
        status=201,
    )


def _problem(error: DomainError) -> str:
    return html.unescape(signal_texts.state_problem(error))


def _update_error(error: SignalSyntaxError) -> ApiError:
    field = _UPDATE_FIELDS.get(error.key, "price")
    extra: dict[str, Any] = {"token": error.token, "field": field}
    return ApiError(400, "invalid_update", html.unescape(signal_texts.problem(error)), extra=extra)
