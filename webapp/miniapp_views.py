"""JSON shapes of the Mini App API (see webapp/API.md)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from bot.accounts.access import entitlement_grants_access
from bot.accounts.subscribers import Found, Timeline
from bot.admin.service import Stats
from bot.billing.plans import Plan
from bot.delivery.broadcast_counts import Counts
from bot.notices import paid
from bot.notices.kinds import NoticeKind
from bot.signals import statistics
from bot.signals.service import Performance
from bot.signals.spec import SignalSpec
from bot.signals.syntax import format_signal, plain_number
from bot.texts import billing as billing_texts
from bot.texts import money, plain
from bot.texts.labels import delivery_label, kind_label, source_label
from bot.texts.signals import status_label, window_label
from db.models import AuditEntry, Entitlement, Signal, User


def iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def dec(value: Decimal | None) -> str | None:
    return plain_number(value) if value is not None else None


def user(row: User) -> dict[str, Any]:
    return {"id": row.id, "first_name": row.first_name, "username": row.username}


def subscription(
    row: Entitlement | None, plan_name: str | None, now: datetime
) -> dict[str, Any] | None:
    if row is None:
        return None
    active = entitlement_grants_access(row, now)
    renews = active and row.source in _SHOWN and not row.cancel_at_period_end
    return {
        "plan": billing_texts.plan_name(plan_name),
        "status": row.status,
        "status_label": billing_texts.state_label(row.status),
        "active": active,
        "source": row.source,
        "renews_at": iso(row.expires_at) if renews else None,
        "ends_at": None if renews else iso(billing_texts.shown_end(row, active, now)),
        "cancel_at_period_end": row.cancel_at_period_end,
    }


# What /me shows: the subscription people manage (Stripe's, then Stars'), else any other.
_SHOWN = ("stripe", "stars")


def shown_entitlement(rows: list[Entitlement], now: datetime) -> Entitlement | None:
    """The entitlement the subscription card shows: a running one before an ended one, a
    paid one (Stripe's, then Stars') before a grant or a trial."""

    def rank(row: Entitlement) -> tuple[bool, int]:
        paid = _SHOWN.index(row.source) if row.source in _SHOWN else len(_SHOWN)
        return not entitlement_grants_access(row, now), paid

    return min(rows, key=rank, default=None)


def stars_plan(price: int | None) -> dict[str, Any] | None:
    if price is None:
        return None
    return {"price": price, "label": plain("button.stars", price=price)}


def plan(row: Plan) -> dict[str, Any]:
    return {
        "price_id": row.price_id,
        "name": row.name,
        "amount": row.unit_amount,
        "currency": row.currency,
        "interval": row.interval,
        "interval_count": row.interval_count,
        "label": billing_texts.plan_label(row),
    }


def _levels(row: SignalSpec | Signal) -> dict[str, Any]:
    """What a signal says, the same whether parsed (a preview) or stored."""
    return {
        "symbol": row.symbol,
        "side": row.side,
        "entry_low": dec(row.entry_low),
        "entry_high": dec(row.entry_high),
        "stop_loss": dec(row.stop_loss),
        # Decimals in a SignalSpec, strings in the stored JSON column.
        "take_profits": [plain_number(Decimal(tp)) for tp in row.take_profits],
        "leverage": dec(row.leverage),
        "timeframe": row.timeframe,
        "note": row.note,
    }


def spec(row: SignalSpec) -> dict[str, Any]:
    return {**_levels(row), "canonical": format_signal(row)}


def signal(row: Signal) -> dict[str, Any]:
    return {
        "id": row.id,
        **_levels(row),
        "status": row.status,
        "status_label": status_label(row),
        "tp_hit": row.tp_hit,
        "exit_price": dec(row.exit_price),
        "result_pct": dec(row.result_pct),
        "result_r": dec(row.result_r),
        "published_at": iso(row.published_at),
        "closed_at": iso(row.closed_at),
    }


def performance(windows: list[Performance], closed: list[Signal]) -> dict[str, Any]:
    """`closed`: the signals with a result, in closing order (service.closed_signals)."""
    curve = statistics.equity_r(statistics.trades_of(closed))[1:]
    equity = [
        {"id": row.id, "closed_at": iso(row.closed_at), "cumulative_r": dec(total)}
        for row, total in zip(closed, curve, strict=True)
    ]
    return {
        "windows": [
            {
                "window": w.label,
                "label": window_label(w.label),
                "count": w.count,
                "wins": w.wins,
                "win_rate": dec(w.win_rate),
                "avg_r": dec(w.avg_r),
                "total_r": dec(w.total_r),
            }
            for w in windows
        ],
        "signals": [
            {
                "id": row.id,
                "symbol": row.symbol,
                "side": row.side,
                "closed_at": iso(row.closed_at),
                "result_r": dec(row.result_r),
                "result_pct": dec(row.result_pct),
            }
            for row in closed
        ],
        "equity": equity,
    }


def progress(broadcast_id: int, title: str, counts: Counts, started: datetime) -> dict[str, Any]:
    seconds = counts.seconds_to_last(started)
    return {
        "id": broadcast_id,
        "title": title,
        "total": counts.total,
        "sent": counts.sent,
        "pending": counts.pending,
        "failed": counts.failed,
        "blocked": counts.blocked,
        "skipped": counts.skipped,
        "done": counts.done,
        "paid": counts.paid,
        "paid_stars": str(paid.stars(counts.paid * paid.TENTHS_PER_MESSAGE)),
        "last_sent_at": iso(counts.last_sent_at),
        "seconds_to_last": round(seconds, 1) if seconds is not None else None,
    }


def lanes(recipients: int, mode: str) -> dict[str, Any]:
    """A signal's cost on the paid lane and its time in each lane (the preview's `lanes`):
    `fast` null when PAID_BROADCAST does not cover signals."""
    cost = paid.estimate(recipients)
    fast = {"stars": str(cost.stars), "seconds": cost.paid_seconds}
    return {
        "fast": fast if paid.covers(mode, NoticeKind.SIGNAL) else None,
        "free": {"stars": "0", "seconds": cost.free_seconds},
    }


def stats(row: Stats) -> dict[str, Any]:
    return {
        "users": row.users,
        "with_access": row.with_access,
        "blocked": row.blocked,
        "by_state": row.by_state,
        "new_30d": row.new_30d,
        "churned_30d": row.churned_30d,
        "referrals": {"total": row.referrals[0], "rewarded": row.referrals[1]},
        "mrr": [
            {"currency": cur, "amount": amount, "label": money(amount, cur)}
            for cur, amount in sorted(row.mrr.items())
        ],
        "paid_lane": {
            "today": {"sends": row.paid_today[0], "stars": str(paid.stars(row.paid_today[1]))},
            "30d": {"sends": row.paid_30d[0], "stars": str(paid.stars(row.paid_30d[1]))},
        },
    }


MAX_ERROR = 200  # of a failed delivery's error, as the timeline shows it


def found(row: Found) -> dict[str, Any]:
    return {
        **user(row.user),
        "has_access": row.has_access,
        "blocked": row.user.blocked_at is not None,
    }


def timeline(row: Timeline, now: datetime) -> dict[str, Any]:
    """One subscriber's timeline, as /user shows it in chat."""
    return {
        "user": {
            **user(row.user),
            "joined_at": iso(row.user.created_at),
            "blocked_at": iso(row.user.blocked_at),
        },
        "has_access": row.has_access,
        "consents": [
            {"kind": c.kind, "version": c.version, "accepted_at": iso(c.accepted_at)}
            for c in row.consents
        ],
        # A running Stars subscription can be refunded (POST .../refund).
        "refundable": any(
            e.source == "stars" and entitlement_grants_access(e, now) for e in row.entitlements
        ),
        "entitlements": [
            {
                "source": e.source,
                "source_label": source_label(e.source),
                "status": e.status,
                "status_label": billing_texts.state_label(e.status),
                "expires_at": iso(e.expires_at),
                "active": entitlement_grants_access(e, now),
                "ref": e.source_ref,
            }
            for e in row.entitlements
        ],
        "events": [
            {
                "at": iso(event.at),
                "kind": event.kind,
                "kind_label": kind_label(event.kind),
                "status": event.status,
                "status_label": delivery_label(event.status),
                "error": event.error[:MAX_ERROR] if event.error else None,
            }
            for event in row.events
        ],
        "actions": [audit_entry(entry) for entry in row.actions],
    }


def audit_entry(entry: AuditEntry) -> dict[str, Any]:
    """One admin action (bot/audit/log.py), as the console lists it."""
    return {
        "id": entry.id,
        "at": iso(entry.at),
        "actor": entry.actor,
        "actor_id": entry.actor_id,
        "action": entry.action,
        "user_id": entry.subject_id,
        "target": entry.target,
        "before": entry.before,
        "after": entry.after,
    }
