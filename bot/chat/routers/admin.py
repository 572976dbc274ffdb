"""Admin commands: /stats, /grant, /broadcast, /audit, and the button confirming a held
mass action (each for the roles whose permission it names, bot/accounts/roles.py)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.accounts import roles
from bot.accounts.roles import Permission
from bot.admin import analytics_reader
from bot.admin import service as admin
from bot.audit import log as audit
from bot.billing.checkout import BillingService
from bot.billing.plans import Plan
from bot.chat.middlewares.permissions import needs
from bot.chat.user_changes import change_one_user
from bot.core.errors import BillingNotConfiguredError, BillingUnavailableError
from bot.core.ids import parse_user_id
from bot.core.settings import Settings
from bot.lifecycle import brake
from bot.notices import paid
from bot.notices.kinds import NoticeKind
from bot.stars.service import StarsService
from bot.texts import Html, format_date, plain, t, tn
from bot.texts import admin as texts
from bot.texts import analytics as analytics_texts
from bot.texts import audit as audit_texts
from bot.texts.keyboards import MassActionButton
from bot.transactions.unit_of_work import UnitOfWork
from db.models import Entitlement

MAX_GRANT_DAYS = 3650
_DAYS = re.compile(r"[0-9]{1,4}")  # ASCII digits: str.isdigit() takes "²" too


def _grant_args(args: str | None) -> tuple[int, int] | Html:
    """(user id, days) from `/grant` arguments, or the reply naming what is wrong."""
    parts = (args or "").split()
    syntax = texts.GRANT_SYNTAX
    if len(parts) != 2:
        return t("grant.usage", syntax=syntax)
    user_id = parse_user_id(parts[0])
    if user_id is None:
        return t("grant.bad_user", value=parts[0][:32], syntax=syntax)
    if not _DAYS.fullmatch(parts[1]) or int(parts[1]) > MAX_GRANT_DAYS:
        return t("grant.bad_days", value=parts[1][:32], max=MAX_GRANT_DAYS, syntax=syntax)
    return user_id, int(parts[1])


def _granted(user_id: int, days: int, row: Entitlement) -> Html:
    if days and row.expires_at is not None:
        return t("grant.given", user=user_id, date=format_date(row.expires_at))
    return t("grant.taken_back", user=user_id)


async def cmd_grant(
    message: Message,
    command: CommandObject,
    uow: UnitOfWork,
    permissions: frozenset[Permission],
) -> None:
    parsed = _grant_args(command.args)
    if not isinstance(parsed, Html) and not roles.grant_allowed(permissions, parsed[1]):
        # Support's grants: 1 to SUPPORT_GRANT_DAYS days, nothing taken back.
        parsed = t("grant.over_limit", max=roles.SUPPORT_GRANT_DAYS)
    owner = Permission.GRANT in permissions
    sender = message.from_user.id if message.from_user else None
    if not isinstance(parsed, Html) and not owner and parsed[0] == sender:
        parsed = t("grant.not_yourself")  # a week at a time, for ever, would be free access
    # Support never shortens a longer grant someone else gave (a grant sets the end).
    change = admin.grant if owner else admin.extend_only
    await change_one_user(
        message, uow, parsed, change=change, refused=admin.NoGrantError, reply=_granted
    )


async def cmd_broadcast(
    message: Message, command: CommandObject, uow: UnitOfWork, settings: Settings
) -> None:
    text = (command.args or "").strip()
    if not text:
        await message.answer(t("broadcast.usage"))
        return
    fast = paid.covers(settings.paid_broadcast, NoticeKind.BROADCAST)  # PAID_BROADCAST=all
    async with uow() as session:
        job = await admin.broadcast(
            session, text, datetime.now(UTC), admin_chat_id=message.chat.id, paid=fast
        )
    await message.answer(tn("broadcast.queued", job.total))


async def cmd_audit(message: Message, uow: UnitOfWork) -> None:
    """The latest admin actions: who did what, when, to whom (bot/audit/log.py)."""
    async with uow.reading() as session:
        entries = await audit.latest(session)
    await message.answer(audit_texts.latest(entries))


async def cmd_stats(
    message: Message, uow: UnitOfWork, billing: BillingService, stars: StarsService
) -> None:
    plans: list[Plan] = []
    try:
        plans = await billing.plans()
    except (BillingNotConfiguredError, BillingUnavailableError):
        plans = []
    now = datetime.now(UTC)
    async with uow.reading() as session:
        figures = await admin.stats(session, now, plans, stars.price)
        report = await analytics_reader.report(session, now, plans)
    await message.answer(Html(texts.stats(figures) + analytics_texts.summary(report)))


async def cb_confirm_mass(
    query: CallbackQuery, callback_data: MassActionButton, uow: UnitOfWork
) -> None:
    """An admin confirms a held mass removal or expiry: its job's next run carries it out."""
    async with uow() as session:
        held = await brake.confirm(
            session,
            callback_data.action,
            datetime.now(UTC),
            held_at=callback_data.held or None,
        )
    await query.answer(plain("mass.confirmed" if held else "mass.nothing_held"), show_alert=True)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(
        cmd_grant, Command("grant"), flags=needs(Permission.GRANT, Permission.GRANT_SHORT)
    )
    router.message.register(cmd_broadcast, Command("broadcast"), flags=needs(Permission.BROADCAST))
    router.message.register(cmd_stats, Command("stats"), flags=needs(Permission.READ_STATS))
    router.message.register(cmd_audit, Command("audit"), flags=needs(Permission.READ_AUDIT))
    router.callback_query.register(
        cb_confirm_mass, MassActionButton.filter(), flags=needs(Permission.CONFIRM_MASS)
    )
    return router
