"""Signals in chat: /signal and /update for admins; /signals and /performance for everyone."""

from __future__ import annotations

from datetime import UTC, datetime
from html import escape
from typing import Annotated, Literal

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.filters.callback_data import CallbackData
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from pydantic import Field

from bot import access
from bot.chat import texts
from bot.chat.middlewares.admin_only import ADMIN_ONLY
from bot.errors import DomainError
from bot.ids import MAX_ROW_ID
from bot.notices import CB_PLANS
from bot.signals import service as signals
from bot.signals.syntax import EXAMPLE, SYNTAX, SignalSyntaxError, parse_signal
from bot.signals.texts import fit_within, list_line, preview, signal_body, spec_of
from bot.signals.updates import UPDATE_SYNTAX, parse_update
from bot.unit_of_work import UnitOfWork


class SignalButton(CallbackData, prefix="sig"):
    """Send or Cancel under a signal's preview: `sig:send:17`. A signal id that cannot be
    one of ours (not ASCII digits, out of range) matches no handler: the fallback router
    answers that the button is no longer valid."""

    action: Literal["send", "discard"]
    signal_id: Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


def _syntax_error(error: SignalSyntaxError, syntax: str) -> str:
    where = f"<code>{escape(error.token)}</code>: " if error.token else ""
    return (
        f"⚠️ Could not read that: {where}{escape(error.problem)}.\n\n"
        f"Syntax: <code>{escape(syntax)}</code>"
    )


async def cmd_signal(message: Message, command: CommandObject, uow: UnitOfWork) -> None:
    user = message.from_user
    assert user is not None  # admin-only: AdminOnlyMiddleware saw the user
    try:
        spec = parse_signal(command.args or "")
    except SignalSyntaxError as error:
        await message.answer(
            _syntax_error(error, SYNTAX) + f"\nExample: <code>{escape(EXAMPLE)}</code>"
        )
        return
    async with uow() as session:
        draft = await signals.create_draft(session, spec, user.id)
        count = len(await access.recipients(session, datetime.now(UTC)))
    buttons = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=f"Send to {count} subscriber{'' if count == 1 else 's'}",
                    callback_data=SignalButton(action="send", signal_id=draft.id).pack(),
                ),
                InlineKeyboardButton(
                    text="Cancel",
                    callback_data=SignalButton(action="discard", signal_id=draft.id).pack(),
                ),
            ]
        ]
    )
    await message.answer(preview(spec, count), reply_markup=buttons)


async def cb_send(
    query: CallbackQuery, callback_data: SignalButton, bot: Bot, uow: UnitOfWork
) -> None:
    signal_id = callback_data.signal_id
    if query.message is None:
        await query.answer(texts.BUTTON_EXPIRED, show_alert=True)
        return
    try:
        async with uow() as session:
            broadcast = await signals.publish(
                session,
                signal_id,
                datetime.now(UTC),
                admin_chat_id=query.message.chat.id,
                progress_message_id=query.message.message_id,
            )
    except DomainError as error:
        await query.answer(f"Not sent again: {error}", show_alert=True)
        return
    await query.answer(f"Sending to {broadcast.total}")
    await bot.edit_message_text(
        text=f"📤 <b>{escape(broadcast.title)}</b>: queued for {broadcast.total:,} subscribers…",
        chat_id=query.message.chat.id,
        message_id=query.message.message_id,
    )


async def cb_discard(query: CallbackQuery, callback_data: SignalButton, uow: UnitOfWork) -> None:
    try:
        async with uow() as session:
            await signals.discard_draft(session, callback_data.signal_id)
    except DomainError as error:
        await query.answer(f"Nothing discarded: {error}", show_alert=True)
        return
    await query.answer("Discarded")
    if query.message is not None and isinstance(query.message, Message):
        await query.message.edit_text("Discarded — nothing was sent.")


async def cmd_update(message: Message, command: CommandObject, uow: UnitOfWork) -> None:
    user = message.from_user
    assert user is not None  # admin-only: AdminOnlyMiddleware saw the user
    try:
        update = parse_update(command.args or "")
        async with uow() as session:
            signal, broadcast = await signals.post_update(
                session, update, user.id, datetime.now(UTC), admin_chat_id=message.chat.id
            )
    except SignalSyntaxError as error:
        await message.answer(_syntax_error(error, UPDATE_SYNTAX))
        return
    except DomainError as error:
        await message.answer(f"⚠️ {escape(str(error) or 'No such signal')}.")
        return
    await message.answer(
        f"Update recorded: {list_line(signal)}\n"
        f"Follow-ups queued for {broadcast.total:,} subscriber"
        f"{'' if broadcast.total == 1 else 's'}."
    )


async def cmd_signals(message: Message, uow: UnitOfWork) -> None:
    if message.from_user is None:
        return
    now = datetime.now(UTC)
    async with uow() as session:
        allowed = await access.has_access(session, message.from_user.id, now)
        recent = await signals.latest(session)
    if not recent:
        await message.answer("No signals have been posted yet.")
        return
    if allowed:
        head = "<b>Latest signals</b>\n" + "\n".join(list_line(s) for s in recent)
        open_ones = [signal_body(spec_of(s), s.id) for s in recent if s.closed_at is None][:3]
        shown = fit_within(head, "\n\n<b>Open now</b>", open_ones)
        await message.answer(shown)
        return
    closed = [list_line(s) for s in recent if s.closed_at is not None]
    hidden = sum(1 for s in recent if s.closed_at is None)
    lines = ["<b>Latest results</b>", *closed] if closed else []
    if hidden:
        lines.append(f"🔒 {hidden} open signal{'' if hidden == 1 else 's'} for subscribers only.")
    lines.append("Subscribe to get every signal the moment it is posted.")
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Subscribe", callback_data=CB_PLANS)]]
    )
    await message.answer("\n".join(lines), reply_markup=markup)


async def cmd_performance(message: Message, uow: UnitOfWork) -> None:
    async with uow() as session:
        closed = await signals.closed_signals(session)
    rows = signals.summarise(closed, datetime.now(UTC))
    await message.answer(texts.performance(rows))


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_signal, Command("signal"), flags=ADMIN_ONLY)
    router.message.register(cmd_update, Command("update"), flags=ADMIN_ONLY)
    router.callback_query.register(
        cb_send, SignalButton.filter(F.action == "send"), flags=ADMIN_ONLY
    )
    router.callback_query.register(
        cb_discard, SignalButton.filter(F.action == "discard"), flags=ADMIN_ONLY
    )
    router.message.register(cmd_signals, Command("signals"))
    router.message.register(cmd_performance, Command("performance"))
    return router
