"""Replies the bot owes a person are not lost to a 429 or a network error.

A handler's reply (`message.answer(...)`, an edited message) goes straight to Telegram, not
through the outbox: it is an answer the person is waiting for. Two things could lose it:
Telegram's one message per second per chat (the delivery worker may have just sent to the
same chat: an admin's delivery report, then the reply to their next command), and a
429, an error page or a dropped connection on the way. So, for calls made while an update
is handled (`ReplyScope` marks them):

- each message to a chat takes that chat's turn in the process's `ChatPace`, which the
  delivery worker shares, so direct replies and outbox sends to one chat keep the limit
  together;
- a 429 is waited out and the call made again, and so are Telegram being unreachable and
  its 5xx, with back-off, up to MAX_WAIT seconds in all (a webhook update is answered
  within Telegram's minute);
- past that, a sendMessage is handed to the outbox, which sends it when Telegram takes
  it again, and the handler stops there (`ReplyHandedOverError`, caught by `ReplyScope`).
  Anything else (an edit, a document) is raised as before: it cannot wait for long.

Refusals that say something about the message itself (400, 403 blocked, 413) are raised
at once: sending again would not help. Calls made outside an update (the delivery worker,
the scheduler, start-up) pass through untouched; the worker has its own pacing.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.client.default import Default
from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.enums import ParseMode
from aiogram.exceptions import AiogramError
from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    SendPhoto,
    TelegramMethod,
)
from aiogram.methods.base import Response
from aiogram.types import InlineKeyboardMarkup, TelegramObject

from bot.core.clock import Clock
from bot.delivery.pacing import ChatPace
from bot.delivery.verdicts import Action, classify
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.transactions.unit_of_work import UnitOfWork
from db.faults import DATABASE_FAULTS, describe_fault

log = logging.getLogger(__name__)

MAX_WAIT = 20.0  # seconds a reply may wait for Telegram before it goes to the outbox
FIRST_BACKOFF = 1.0  # after an error page or a dropped connection; doubles each time
# The calls that put a message in a chat, and so count against its per-chat limit.
_MESSAGES = (SendMessage, EditMessageText, EditMessageReplyMarkup, SendDocument, SendPhoto)
# What may be waited out and tried again; any other verdict is about the message itself.
_PASSING = frozenset({Action.PAUSE, Action.RETRY, Action.UNAVAILABLE})

_REPLYING: ContextVar[bool] = ContextVar("replying", default=False)


class ReplyHandedOverError(Exception):
    """The reply went to the outbox; the handler stops here (its work is committed)."""


class ReplyScope(BaseMiddleware):
    """The innermost update middleware: marks the Bot API calls its handler makes as
    replies, and ends a handler whose reply was handed to the outbox quietly."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        token = _REPLYING.set(True)
        try:
            return await handler(event, data)
        except ReplyHandedOverError:
            return None
        finally:
            _REPLYING.reset(token)


class ReplyGuard(BaseRequestMiddleware):
    """A request middleware on the Bot's session (bot.app attaches it)."""

    def __init__(
        self,
        pace: ChatPace,
        clock: Clock,
        uow: UnitOfWork,
        *,
        max_wait: float = MAX_WAIT,
    ) -> None:
        self._pace = pace
        self._clock = clock
        self._uow = uow
        self._max_wait = max_wait

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[Any],
        bot: Bot,
        method: TelegramMethod[Any],
    ) -> Response[Any]:
        chat = _chat_of(method) if _REPLYING.get() else None
        if chat is None:
            return await make_request(bot, method)
        waited, backoff = 0.0, FIRST_BACKOFF
        while True:
            turn = self._pace.reserve(chat)
            if turn > 0:
                await self._clock.sleep(turn)
            try:
                return await make_request(bot, method)
            except AiogramError as error:
                verdict = classify(error)
                if verdict.action not in _PASSING:
                    raise
                pause = verdict.retry_after if verdict.action is Action.PAUSE else backoff
                if waited + pause > self._max_wait:
                    await self._hand_over(chat, method, error)
                    raise ReplyHandedOverError from error
                log.info("a reply to %s waits %.1f s: %s", chat, pause, verdict.reason)
                backoff *= 2
                waited += pause
                await self._clock.sleep(pause)

    async def _hand_over(self, chat: int, method: TelegramMethod[Any], error: Exception) -> None:
        """Queue the reply in the outbox; raise the send's own error if it cannot be."""
        params = _outbox_params(method)
        if params is None:
            raise error
        try:
            async with self._uow() as session:
                await outbox.enqueue(session, chat_id=chat, kind=NoticeKind.REPLY, params=params)
        except DATABASE_FAULTS as fault:
            log.warning(
                "a reply to %s is lost: the database failed (%s)", chat, describe_fault(fault)
            )
            raise error from fault
        log.info("a reply to %s went to the outbox: Telegram did not take it in time", chat)


def _chat_of(method: TelegramMethod[Any]) -> int | None:
    """The chat a message-sending call writes to (None: not one, or a @channel name)."""
    if not isinstance(method, _MESSAGES):
        return None
    chat = getattr(method, "chat_id", None)
    return chat if isinstance(chat, int) else None


def _outbox_params(method: TelegramMethod[Any]) -> dict[str, Any] | None:
    """A sendMessage as the outbox's params (its HTML and buttons), or None when it cannot
    wait in the outbox (another method, or a keyboard that is not inline)."""
    if not isinstance(method, SendMessage):
        return None
    markup = method.reply_markup
    if markup is not None and not isinstance(markup, InlineKeyboardMarkup):
        return None
    # The outbox sends HTML (the bot's default); a reply sent as plain text is escaped to
    # read the same; one in another mode cannot be carried over.
    if method.parse_mode is None:
        text = html.escape(method.text, quote=False)
    elif isinstance(method.parse_mode, Default) or method.parse_mode == ParseMode.HTML:
        text = method.text
    else:
        return None
    params: dict[str, Any] = {"html": text}
    if markup is not None:
        params["markup"] = markup.model_dump(mode="json", exclude_none=True)
    return params
