"""POST /alerts/tradingview/{secret}: TradingView's webhook alerts, made signals and updates.

TradingView gives up on an answer after 3 s and sends no headers of its own, so the secret
is the last part of the path (TRADINGVIEW_SECRET; the route is there only when it is set).
A wrong secret is answered exactly as a path that does not exist, and no log line names
the path. Then: the rate per secret (429), the body within MAX_ALERT_BODY (413), the alert
read (400 naming the word at fault, as the chat's syntax errors do, and the admins told),
and one transaction (bot/signals/alerts.py); the messages it queues go out through the
outbox after the answer.
"""

from __future__ import annotations

import html
import logging
from datetime import UTC, datetime

from aiohttp import web

from bot.accounts import roles
from bot.accounts.attempt_limits import Limiter
from bot.accounts.roles import Permission
from bot.core.credentials import same_secret
from bot.core.errors import DomainError
from bot.signals import alerts, cornix
from bot.signals import channel as signal_channel
from bot.signals.alert_text import excerpt, read_alert
from bot.signals.alerts import AlertOptions, AlertOutcome, AlertProblem, NoOpenSignalError
from bot.signals.syntax import SignalSyntaxError
from bot.texts import plain
from bot.texts import signals as signal_texts
from webapp.errors import ApiError
from webapp.keys import ALERT_LIMITER, SETTINGS, UNIT_OF_WORK
from webapp.request_body import read_body

log = logging.getLogger(__name__)
routes = web.RouteTableDef()

PATH = "/alerts/tradingview/{secret}"
MAX_ALERT_BODY = 8 * 1024  # an alert's message is a line or a few
# Alerts per secret: twenty at once (a watchlist's alerts firing on one bar close), then
# one every three seconds; the posting limit of 7 signals a minute still holds.
ALERT_BURST = 20
ALERTS_PER_SECOND = 1 / 3
ALERT_BUCKET = "alerts:tradingview"  # the key of the bucket: never the secret itself


@routes.route("*", PATH)
async def tradingview_alert(request: web.Request) -> web.Response:
    _check_secret(request)
    if request.method != "POST":
        raise ApiError(405, "method_not_allowed", "alerts are POSTed", headers={"Allow": "POST"})
    await _within_rate(request.app[ALERT_LIMITER])
    raw = await read_body(request, MAX_ALERT_BODY)
    settings = request.app[SETTINGS]
    now = datetime.now(UTC)
    options = AlertOptions(
        # Everyone who may send a preview gets it: owners and posters (docs/roles.md).
        admin_ids=roles.holders(settings, Permission.POST_SIGNALS),
        author_id=settings.bot_id,
        autopublish=settings.alerts_autopublish,
        per_minute=cornix.posts_per_minute(settings.signal_style),
        channel=signal_channel.rule_of(settings),
    )
    try:
        alert = read_alert(raw, for_bots=settings.signal_style == "cornix")
        async with request.app[UNIT_OF_WORK]() as session:
            outcome = await alerts.receive(session, alert, now, options)
    except SignalSyntaxError as error:
        await _tell_admins(request, _problem(error, raw, state=False), now)
        raise ApiError(
            400, "invalid_signal", _words(error), extra={"token": error.token}
        ) from None
    except DomainError as error:
        await _tell_admins(request, _problem(error, raw, state=True), now)
        raise _refused(error) from None
    log.info("TradingView alert: %s (signal %s)", outcome.status, outcome.signal_id)
    if outcome.status == "held":
        raise _held(outcome)
    return web.json_response(
        {
            "status": outcome.status,
            "signal_id": outcome.signal_id,
            "broadcast_id": outcome.broadcast_id,
            "total": outcome.total,
        }
    )


def _check_secret(request: web.Request) -> None:
    """404 for a wrong secret, as for a path that does not exist (the body and the
    headers are aiohttp's own 404's); compared in constant time."""
    secret = request.app[SETTINGS].tradingview_secret
    presented = request.match_info.get("secret", "")
    if secret is None or not same_secret(presented, secret.get_secret_value()):
        raise web.HTTPNotFound()


async def _within_rate(limiter: Limiter) -> None:
    wait = await limiter.attempt(ALERT_BUCKET)
    if wait:
        raise ApiError(
            429,
            "too_many_requests",
            "too many alerts just now; at most 20 at once, then one every 3 s",
            headers={"Retry-After": str(max(1, round(wait)))},
        )


def _held(outcome: AlertOutcome) -> ApiError:
    """Published at once, the signal would break the posting limit: it is a draft, and
    the admins have its preview with Send."""
    seconds = outcome.retry_after or 1
    return ApiError(
        429,
        "too_many_signals",
        plain("signal.too_many", limit=cornix.POSTS_PER_MINUTE, seconds=seconds),
        extra={"signal_id": str(outcome.signal_id)},
        headers={"Retry-After": str(seconds)},
    )


def _words(error: SignalSyntaxError) -> str:
    """What is wrong, in the words of the chat's syntax errors, the word at fault first."""
    problem = html.unescape(signal_texts.problem(error))
    return f"{error.token!r}: {problem}" if error.token else problem


def _refused(error: DomainError) -> ApiError:
    """An update the signal cannot take (already closed, TP1 reported) is a conflict; an
    update for a pair with no open signal is an alert we cannot place."""
    words = html.unescape(signal_texts.state_problem(error))
    if isinstance(error, NoOpenSignalError):
        return ApiError(400, "unknown_symbol", words)
    return ApiError(409, "signal_state", words)


def _problem(error: SignalSyntaxError | DomainError, raw: bytes, *, state: bool) -> AlertProblem:
    token = error.token if isinstance(error, SignalSyntaxError) else ""
    return AlertProblem(error.key, dict(error.params), token, state, excerpt(raw))


async def _tell_admins(request: web.Request, problem: AlertProblem, now: datetime) -> None:
    """Owners and posters hear of a refused alert (each kind of problem once an hour)."""
    admins = roles.holders(request.app[SETTINGS], Permission.POST_SIGNALS)
    async with request.app[UNIT_OF_WORK]() as session:
        told = await alerts.report_problem(session, problem, now, admins)
    log.info("TradingView alert refused: %s (admins told: %s)", problem.key, told)
