"""The JSON of an admin's signal card (webapp/API.md, "Signal cards").

A card is the signal as the feed shows it, the updates it can still take (the buttons,
from bot/signals/updates.py's own rules) and its delivery report.
"""

from __future__ import annotations

from typing import Any

from bot.admin.signal_reports import SignalReport
from bot.signals.spec import spec_of
from bot.signals.updates import SignalState, possible_updates
from webapp.miniapp_views import iso, signal

SECONDS = 1  # decimals of the delivery time


def card(report: SignalReport) -> dict[str, Any]:
    row = report.signal
    state = SignalState(row.id, spec_of(row), row.status, row.tp_hit, row.closed_at is not None)
    return {**signal(row), "updates": possible_updates(state), "delivery": delivery(report)}


def delivery(report: SignalReport) -> dict[str, Any]:
    """How the signal's own broadcast went: its messages by state, and the time from Send
    to the last subscriber who got it so far (`seconds`; final once `done`)."""
    counts = report.counts
    seconds = report.seconds
    return {
        "broadcast_id": report.broadcast_id,
        "total": counts.total,
        "sent": counts.sent,
        "pending": counts.pending,
        "failed": counts.failed,
        "blocked": counts.blocked,
        "skipped": counts.skipped,
        "done": counts.done,
        "last_sent_at": iso(counts.last_sent_at),
        "seconds": round(seconds, SECONDS) if seconds is not None else None,
    }
