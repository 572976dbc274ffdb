"""GET /api/v1/admin/analytics: every figure of bot/admin/analytics.py as JSON tables, for
the Mini App's Analytics section (docs/analytics.md defines them). Reads in a reading
unit; the route runs no SQL."""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

from aiohttp import web

from bot.accounts.roles import Permission
from bot.admin import analytics_reader
from bot.admin.analytics_rows import Bucket, Report
from bot.billing.plans import Plan
from bot.core.errors import BillingNotConfiguredError, BillingUnavailableError
from bot.texts import money
from webapp.callers import require
from webapp.keys import BILLING, UNIT_OF_WORK

routes = web.RouteTableDef()


def _bucket(row: Bucket) -> dict[str, Any]:
    return {
        "start": row.start.isoformat(),
        "new": row.new,
        "voluntary": row.voluntary,
        "involuntary": row.involuntary,
        "churned": row.churned,
        "net": row.net,
    }


def _month(day: date) -> str:
    return day.isoformat()[:7]


def _rated(figures: Any) -> dict[str, Any]:
    return {**asdict(figures), "rate": figures.rate}


def body(report: Report, names: dict[str, str]) -> dict[str, Any]:
    """The report as the page reads it: amounts in minor units with a label in the
    request's language, months as YYYY-MM, rates as fractions (null: nothing to count)."""
    return {
        "now": report.now.isoformat(),
        "paying": report.paying,
        "unpriced": report.unpriced,
        "mrr": [{**asdict(m), "label": money(m.amount, m.currency)} for m in report.mrr],
        "movement": {
            "day": [_bucket(b) for b in report.days],
            "week": [_bucket(b) for b in report.weeks],
            "month": [_bucket(b) for b in report.months],
        },
        "trials": _rated(report.trials),
        "dunning": _rated(report.dunning),
        "referrals": _rated(report.referrals),
        "revenue": [
            {
                **asdict(r),
                "name": names.get(r.plan or "", r.plan),
                "net": r.net,
                "gross_label": money(r.gross, r.currency),
                "refunded_label": money(r.refunded, r.currency),
                "net_label": money(r.net, r.currency),
            }
            for r in report.revenue
        ],
        "monthly_revenue": [
            {
                "month": _month(m.month),
                "currency": m.currency,
                "net": m.net,
                "label": money(m.net, m.currency),
            }
            for m in report.monthly_revenue
        ],  # fmt: skip
        "cohorts": [
            {"month": _month(c.month), "size": c.size, "retained": list(c.retained)}
            for c in report.cohorts
        ],
    }


async def _plans(request: web.Request) -> list[Plan]:
    try:
        return await request.app[BILLING].plans()
    except (BillingNotConfiguredError, BillingUnavailableError):
        return []  # MRR then counts Stripe subscriptions as unpriced


@routes.get("/api/v1/admin/analytics")
async def admin_analytics(request: web.Request) -> web.Response:
    require(request, Permission.READ_STATS)
    plans = await _plans(request)
    async with request.app[UNIT_OF_WORK].reading() as session:
        report = await analytics_reader.report(session, datetime.now(UTC), plans)
    return web.json_response(body(report, {plan.price_id: plan.name for plan in plans}))
