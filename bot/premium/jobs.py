"""The scheduler's premium chat jobs: links for users whose access started, and the daily
audit, whose summary goes to the admins."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from bot.lifecycle.brake import MassBrake
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.premium.service import AuditReport, PremiumChats

JobBody = Callable[[datetime], Awaitable[str]]


def summary(report: AuditReport, *, dry_run: bool) -> str:
    if report.held:
        return (
            f"premium chats: {report.checked} members checked, {report.held} without access "
            "held (a mass removal: waiting for an admin or audit-chats to confirm it)"
        )
    verb = "would be removed" if dry_run else "removed"
    return (
        f"premium chats: {report.checked} members checked, {len(report.removed)} without "
        f"access {verb}, {report.failed} failed"
    )


def invites(premium: PremiumChats, brake: MassBrake) -> JobBody:
    """Every 30 s: links for users whose access started; no access period ends while the
    wall clock is ahead of where this process found it (else, once it is back, everyone
    not in every chat would be invited again)."""

    async def run(now: datetime) -> str:
        return await premium.invites(now, close_periods=not brake.clock_ahead)

    return run


def removals(premium: PremiumChats, brake: MassBrake) -> JobBody:
    """Every minute: whoever lost access since leaves the premium chats (the audit's work,
    without its summary to the admins), unless that is a mass removal (the brake)."""

    async def run(now: datetime) -> str:
        return summary(await premium.audit(now, dry_run=False, brake=brake), dry_run=False)

    return run


def audit(premium: PremiumChats, admin_ids: Sequence[int], brake: MassBrake) -> JobBody:
    async def run(now: datetime) -> str:
        report = await premium.audit(now, dry_run=False, brake=brake)
        params = {
            "checked": report.checked,
            "removed": len(report.removed),
            "failed": report.failed,
        }
        async with premium.sessions() as session, session.begin():
            for admin_id in admin_ids:
                await outbox.enqueue(
                    session, chat_id=admin_id, kind=NoticeKind.PREMIUM_AUDIT, params=params
                )
        return summary(report, dry_run=False)

    return run
