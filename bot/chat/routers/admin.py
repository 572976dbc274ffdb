"""Admin commands: /stats, /grant, /broadcast (ADMIN_IDS only)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import escape

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message

from bot import admin
from bot.billing.checkout import BillingService
from bot.billing.plans import Plan, format_amount
from bot.chat.middlewares.admin_only import ADMIN_ONLY
from bot.errors import BillingNotConfiguredError, BillingUnavailableError
from bot.ids import parse_user_id
from bot.notices import format_date
from bot.unit_of_work import UnitOfWork

GRANT_SYNTAX = "/grant USER_ID DAYS  (DAYS 0 takes a grant back)"
MAX_GRANT_DAYS = 3650
_DAYS = re.compile(r"[0-9]{1,4}")  # ASCII digits: str.isdigit() takes "²" too


def _grant_args(args: str | None) -> tuple[int, int] | str:
    """(user id, days) from `/grant` arguments, or the reply naming what is wrong."""
    parts = (args or "").split()
    if len(parts) != 2:
        return f"Usage: <code>{escape(GRANT_SYNTAX)}</code>"
    user_id = parse_user_id(parts[0])
    if user_id is None:
        return (
            f"⚠️ <code>{escape(parts[0][:32])}</code> is not a Telegram user id.\n"
            f"Usage: <code>{escape(GRANT_SYNTAX)}</code>"
        )
    if not _DAYS.fullmatch(parts[1]) or int(parts[1]) > MAX_GRANT_DAYS:
        return (
            f"⚠️ <code>{escape(parts[1][:32])}</code>: DAYS is a whole number from 0 to "
            f"{MAX_GRANT_DAYS}.\nUsage: <code>{escape(GRANT_SYNTAX)}</code>"
        )
    return user_id, int(parts[1])


async def cmd_grant(message: Message, command: CommandObject, uow: UnitOfWork) -> None:
    assert message.from_user is not None  # admin-only: AdminOnlyMiddleware saw the user
    parsed = _grant_args(command.args)
    if isinstance(parsed, str):
        await message.answer(parsed)
        return
    user_id, days = parsed
    try:
        async with uow() as session:
            row = await admin.grant(
                session, user_id, days, message.from_user.id, datetime.now(UTC)
            )
    except admin.NoGrantError:
        await message.answer(f"User {user_id} has no complimentary access to take back.")
        return
    if days and row.expires_at is not None:
        await message.answer(f"User {user_id} has access until {format_date(row.expires_at)}.")
    else:
        await message.answer(f"User {user_id}'s grant was taken back.")


async def cmd_broadcast(message: Message, command: CommandObject, uow: UnitOfWork) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.answer("Usage: <code>/broadcast your announcement</code>")
        return
    async with uow() as session:
        job = await admin.broadcast(
            session, escape(text), datetime.now(UTC), admin_chat_id=message.chat.id
        )
    await message.answer(f"Announcement queued for {job.total:,} subscribers.")


def _mrr(stats: admin.Stats) -> str:
    if not stats.mrr:
        return "0"
    return ", ".join(format_amount(amount, cur) for cur, amount in sorted(stats.mrr.items()))


async def cmd_stats(message: Message, uow: UnitOfWork, billing: BillingService) -> None:
    plans: list[Plan] = []
    try:
        plans = await billing.plans()
    except (BillingNotConfiguredError, BillingUnavailableError):
        plans = []
    async with uow() as session:
        stats = await admin.stats(session, datetime.now(UTC), plans)
    states = ", ".join(f"{k} {v}" for k, v in sorted(stats.by_state.items()) if v) or "none"
    await message.answer(
        "<b>Stats</b>\n"
        f"Users: {stats.users:,} (blocked the bot: {stats.blocked:,})\n"
        f"With access now: {stats.with_access:,}\n"
        f"Subscriptions by state: {states}\n"
        f"New in 30 days: {stats.new_30d:,} · churned: {stats.churned_30d:,}\n"
        f"MRR: {_mrr(stats)}\n"
        f"Signals open: {stats.signals_open:,} · closed: {stats.signals_closed:,}\n"
        f"Outbox pending: {stats.outbox_pending:,} · failed: {stats.outbox_failed:,}"
    )


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_grant, Command("grant"), flags=ADMIN_ONLY)
    router.message.register(cmd_broadcast, Command("broadcast"), flags=ADMIN_ONLY)
    router.message.register(cmd_stats, Command("stats"), flags=ADMIN_ONLY)
    return router
