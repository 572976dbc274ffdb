"""Signals in chat: /signal and /update for admins; /signals and /performance for everyone."""

from __future__ import annotations

import asyncio
import html
from dataclasses import replace
from datetime import UTC, datetime

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import AiogramError
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, Message

from bot.accounts import access, roles
from bot.accounts.roles import Permission
from bot.audit.log import Actor
from bot.chat.middlewares.permissions import needs
from bot.core.errors import DomainError
from bot.core.settings import Settings
from bot.notices import paid
from bot.notices.kinds import NoticeKind
from bot.outcomes.benchmark import Holdings
from bot.signals import channel, cornix, statistics
from bot.signals import service as signals
from bot.signals.paste import PASTE_SYNTAX, is_pasted, read_signal
from bot.signals.posting_limit import PostingLimitError
from bot.signals.spec import spec_of
from bot.signals.syntax import EXAMPLE, SYNTAX, SignalSyntaxError
from bot.signals.updates import UPDATE_SYNTAX, parse_update
from bot.telegram.client import bot_username
from bot.texts import Html, keyboards, plain, t, tn
from bot.texts import admin as admin_texts
from bot.texts import paid as paid_texts
from bot.texts import signals as texts
from bot.texts import statistics as statistics_texts
from bot.texts.keyboards import SignalButton
from bot.transactions.unit_of_work import UnitOfWork

BOT_NAME_WAIT = 5.0  # seconds to learn the bot's @username for a result's Subscribe link


async def cmd_signal(
    message: Message, command: CommandObject, uow: UnitOfWork, settings: Settings
) -> None:
    await _preview(message, command.args or "", uow, settings)


async def msg_pasted(message: Message, uow: UnitOfWork, settings: Settings) -> None:
    """A signal pasted as several lines, without /signal: the same preview."""
    await _preview(message, message.text or "", uow, settings)


async def _preview(message: Message, text: str, uow: UnitOfWork, settings: Settings) -> None:
    user = message.from_user
    assert user is not None  # posters only: PermissionMiddleware saw the user
    try:
        spec = read_signal(text, for_bots=settings.signal_style == "cornix")
    except SignalSyntaxError as error:
        if is_pasted(text):
            await message.answer(texts.syntax_error(error, PASTE_SYNTAX))
            return
        reply = texts.syntax_error(error, SYNTAX) + t("signal.example", example=EXAMPLE)
        await message.answer(reply)
        return
    async with uow() as session:
        draft = await signals.create_draft(session, spec, user.id)
        count = len(await access.recipients(session, datetime.now(UTC)))
    if not paid.covers(settings.paid_broadcast, NoticeKind.SIGNAL):
        markup = keyboards.signal_preview(draft.id, count)
        await message.answer(texts.preview(spec, count), reply_markup=markup)
        return
    cost = paid.estimate(count)  # the paid lane: its price, and the time in each lane
    markup = keyboards.signal_preview(draft.id, count, fast_stars=cost.stars)
    text = Html(texts.preview(spec, count) + paid_texts.preview_cost(cost))
    await message.answer(text, reply_markup=markup)


def _from_poster(message: Message, settings: Settings) -> bool:
    """Only the pasted lines of someone who may post are a signal; anyone else's text goes
    on to the fallback (not to a refusal, as a flagged handler's would)."""
    user_id = message.from_user.id if message.from_user else None
    return roles.may(user_id, settings, Permission.POST_SIGNALS)


async def cb_send(
    query: CallbackQuery,
    callback_data: SignalButton,
    bot: Bot,
    uow: UnitOfWork,
    settings: Settings,
) -> None:
    if query.message is None:
        await query.answer(plain("common.button_expired"), show_alert=True)
        return
    try:
        async with uow() as session:
            broadcast = await signals.publish(
                session,
                callback_data.signal_id,
                datetime.now(UTC),
                admin_chat_id=query.message.chat.id,
                progress_message_id=query.message.message_id,
                per_minute=cornix.posts_per_minute(settings.signal_style),
                channel=channel.rule_of(settings),
                paid=callback_data.action == "send"
                and paid.covers(settings.paid_broadcast, NoticeKind.SIGNAL),
            )
    except DomainError as error:
        # Too many just now: the draft is still there, and Send works again in a moment.
        again = isinstance(error, PostingLimitError)
        reason = html.unescape(texts.state_problem(error))
        key = "signal.not_sent" if again else "signal.not_sent_again"
        await query.answer(plain(key, reason=reason), show_alert=True)
        return
    await query.answer(plain("signal.sending", count=broadcast.total))
    title = admin_texts.broadcast_title(broadcast.kind, broadcast.title)
    await bot.edit_message_text(
        text=tn("signal.queued", broadcast.total, title=title),
        chat_id=query.message.chat.id,
        message_id=query.message.message_id,
    )


async def cb_discard(query: CallbackQuery, callback_data: SignalButton, uow: UnitOfWork) -> None:
    try:
        async with uow() as session:
            await signals.discard_draft(
                session,
                callback_data.signal_id,
                Actor.admin(query.from_user.id),
                datetime.now(UTC),
            )
    except DomainError as error:
        reason = html.unescape(texts.state_problem(error))
        await query.answer(plain("signal.nothing_discarded", reason=reason), show_alert=True)
        return
    await query.answer(plain("signal.discarded"))
    if query.message is not None and isinstance(query.message, Message):
        await query.message.edit_text(t("signal.discarded_message"))


async def _channel(settings: Settings, bot: Bot) -> channel.ChannelRule | None:
    """The signal channel; in results mode with the bot's @username for the Subscribe link
    (asked before the unit of work opens; none while Telegram cannot say it)."""
    rule = channel.rule_of(settings)
    if rule is None or not rule.results_only:
        return rule
    try:
        username = await asyncio.wait_for(bot_username(bot), BOT_NAME_WAIT)
    except (AiogramError, TimeoutError):
        return rule
    return replace(rule, bot_username=username or None)


async def cmd_update(
    message: Message, command: CommandObject, uow: UnitOfWork, bot: Bot, settings: Settings
) -> None:
    user = message.from_user
    assert user is not None  # posters only: PermissionMiddleware saw the user
    try:
        update = parse_update(command.args or "", for_bots=settings.signal_style == "cornix")
        rule = await _channel(settings, bot)
        async with uow() as session:
            signal, broadcast = await signals.post_update(
                session,
                update,
                user.id,
                datetime.now(UTC),
                admin_chat_id=message.chat.id,
                channel=rule,
            )
    except SignalSyntaxError as error:
        await message.answer(texts.syntax_error(error, UPDATE_SYNTAX))
        return
    except DomainError as error:
        await message.answer(t("update.problem", problem=texts.state_problem(error)))
        return
    await message.answer(tn("update.recorded", broadcast.total, line=texts.list_line(signal)))


async def cmd_signals(message: Message, uow: UnitOfWork) -> None:
    if message.from_user is None:
        return
    now = datetime.now(UTC)
    async with uow.reading() as session:
        allowed = await access.has_access(session, message.from_user.id, now)
        recent = await signals.latest(session)
    if not recent:
        await message.answer(t("signals.none"))
        return
    if allowed:
        head = Html(t("signals.latest") + "\n" + "\n".join(texts.list_line(s) for s in recent))
        open_ones = [texts.body(spec_of(s), s.id) for s in recent if s.closed_at is None][:3]
        await message.answer(texts.fit_within(head, "\n\n" + t("signals.open_now"), open_ones))
        return
    closed = [texts.list_line(s) for s in recent if s.closed_at is not None]
    hidden = sum(1 for s in recent if s.closed_at is None)
    lines = [t("signals.latest_results"), *closed] if closed else []
    if hidden:
        lines.append(tn("signals.hidden", hidden))
    lines.append(t("signals.subscribe_call"))
    await message.answer("\n".join(lines), reply_markup=keyboards.subscribe())


async def cmd_performance(
    message: Message, uow: UnitOfWork, holdings: Holdings | None = None
) -> None:
    """The windows, the statistics, the portfolio and, with PRICE_SOURCE, holding BTC (the
    web app's cache, bot/app/__init__.py: the same figure as the public page's)."""
    async with uow.reading() as session:
        closed = await signals.closed_signals(session)
    rows = signals.summarise(closed, datetime.now(UTC))
    trades = statistics.trades_of(closed)
    more = statistics_texts.lines(statistics.figures(trades), statistics.portfolio(trades))
    comparison = await holdings.compare(trades) if holdings is not None else None
    if comparison is not None:  # None: no source, or no closed signal yet
        more.append(statistics_texts.holding(comparison.holding))
    await message.answer(Html("\n\n".join([texts.performance(rows), "\n".join(more)]).strip()))


POSTING = needs(Permission.POST_SIGNALS)


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.message.register(cmd_signal, Command("signal"), flags=POSTING)
    router.message.register(cmd_update, Command("update"), flags=POSTING)
    router.callback_query.register(
        cb_send, SignalButton.filter(F.action.in_({"send", "free"})), flags=POSTING
    )
    router.callback_query.register(
        cb_discard, SignalButton.filter(F.action == "discard"), flags=POSTING
    )
    router.message.register(
        msg_pasted,
        F.chat.type == ChatType.PRIVATE,
        F.text.contains("\n"),
        ~F.text.startswith("/"),
        _from_poster,
    )
    router.message.register(cmd_signals, Command("signals"))
    router.message.register(cmd_performance, Command("performance"))
    return router
