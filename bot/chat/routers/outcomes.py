"""Outcomes from market prices in chat: an admin's Confirm under one the exchange's prices
showed (OUTCOMES=confirm) records it as /update would, once (ADMIN_IDS only)."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.types import CallbackQuery

from bot.accounts.roles import Permission
from bot.chat.middlewares.permissions import needs
from bot.core.settings import Settings
from bot.outcomes import decisions
from bot.telegram.client import bot_username
from bot.texts import plain
from bot.texts import signals as signal_texts
from bot.texts.keyboards import OutcomeButton
from bot.transactions.unit_of_work import UnitOfWork


async def cb_confirm_outcome(
    query: CallbackQuery,
    callback_data: OutcomeButton,
    uow: UnitOfWork,
    bot: Bot,
    settings: Settings,
) -> None:
    """Record the outcome: subscribers get the threaded update; a second tap (or another
    admin's) records nothing and says it was decided already."""

    async def username() -> str | None:
        return await bot_username(bot)

    rule = await decisions.channel_rule(settings, username)
    async with uow() as session:
        done = await decisions.confirm(
            session, callback_data.event_id, query.from_user.id, datetime.now(UTC), channel=rule
        )
    if done.outcome == decisions.RECORDED:
        await query.answer(plain("outcome.recorded"), show_alert=True)
    elif done.error is not None:
        reason = html.unescape(signal_texts.state_problem(done.error))
        await query.answer(plain("outcome.refused", reason=reason), show_alert=True)
    else:
        await query.answer(plain("outcome.already"), show_alert=True)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.callback_query.register(
        cb_confirm_outcome, OutcomeButton.filter(), flags=needs(Permission.POST_SIGNALS)
    )
    return router
