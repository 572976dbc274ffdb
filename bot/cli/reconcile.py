"""`python -m bot reconcile` and `python -m bot audit-chats`: the database checked against
Stripe and Telegram Stars, and the premium chats' members against access. One line per
difference and a summary on stdout; --dry-run changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import build
from bot.core.settings import Settings
from bot.core.startup import StartupError, check_schema, open_engine
from bot.lifecycle import brake
from bot.premium import jobs as premium_jobs


async def run_reconcile(settings: Settings, *, dry_run: bool) -> int:
    """`python -m bot reconcile`: one line per difference and a summary, on stdout."""
    engine = open_engine(settings)
    await check_schema(engine)
    parts = build(settings, engine)
    try:
        if parts.reconciler is None and parts.stars_reconciler is None:
            raise StartupError(
                "STRIPE_API_KEY: reconciliation needs the Stripe API (or STARS_PRICE for Stars)"
            )
        if parts.reconciler is not None:
            report = await parts.reconciler.run(
                dry_run=dry_run,
                on_change=lambda change: print(change.line()),  # noqa: T201
            )
            print(report.summary(dry_run=dry_run))  # noqa: T201
        if parts.stars_reconciler is not None:
            stars = await parts.stars_reconciler.run(dry_run=dry_run, on_change=print)
            print(stars.summary(dry_run=dry_run))  # noqa: T201
    finally:
        await parts.close()
    return 0


async def run_audit(settings: Settings, *, dry_run: bool) -> int:
    """`python -m bot audit-chats`: one line per member without access, and a summary."""
    if not settings.premium_chat_ids:
        raise StartupError("PREMIUM_CHAT_IDS: there are no premium chats to audit; set it")
    engine = open_engine(settings)
    await check_schema(engine)
    parts = build(settings, engine)
    try:
        # Telegram must answer first: offline, every chat was "unreachable" and the audit
        # of the recorded members ended "0 failed", exit 0.
        await parts.bot.get_me()
        for chat_id, problem in (await parts.premium.check_rights()).items():
            print(f"chat {chat_id}: {problem}")  # noqa: T201
        report = await parts.premium.audit(datetime.now(UTC), dry_run=dry_run)
        verb = "would remove" if dry_run else "removed"
        for chat_id, user_id in report.removed:
            print(f"chat {chat_id}: {verb} user {user_id} (no access)")  # noqa: T201
        print(premium_jobs.summary(report, dry_run=dry_run))  # noqa: T201
        for line in await _confirm_held(parts.session_factory, dry_run=dry_run):
            print(line)  # noqa: T201
    finally:
        await parts.close()
    return 0


async def _confirm_held(
    session_factory: async_sessionmaker[AsyncSession], *, dry_run: bool
) -> list[str]:
    """audit-chats confirms what the jobs held (bot/lifecycle/brake.py): it has just
    carried out the removals itself, and the held expiry notices go at the next run. One
    line each; --dry-run only names them."""
    async with session_factory() as session, session.begin():
        holds = await brake.held(session)
        if not dry_run:
            await brake.forget(session, brake.REMOVALS)
            await brake.confirm(session, brake.EXPIRY, datetime.now(UTC))
    done = "would be confirmed" if dry_run else "confirmed"
    return [
        f"held since {hold.held_at:%Y-%m-%d %H:%M} UTC: {hold.name}, {hold.affected} of "
        f"{hold.population} at once; {done}"
        for hold in holds
    ]
