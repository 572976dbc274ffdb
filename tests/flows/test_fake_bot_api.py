"""Drive tests/support/fakes/bot_api.FakeBotAPI through a real aiogram Bot over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiogram import Bot
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramMigrateToChat,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message

from bot.telegram.client import BotSession
from tests.support.fakes.bot_api import FakeBotAPI

TOKEN = "42:TEST"


def make_bot(fake: FakeBotAPI, timeout: float = 5.0) -> Bot:
    """Real aiogram Bot pointed at the fake server."""
    session = BotSession(api=TelegramAPIServer.from_base(fake.base_url), timeout=timeout)
    return Bot(token=TOKEN, session=session)


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as server:
        yield server


@pytest_asyncio.fixture
async def bot(fake: FakeBotAPI) -> AsyncIterator[Bot]:
    b = make_bot(fake)
    try:
        yield b
    finally:
        await b.session.close()


@pytest.mark.asyncio
async def test_get_me_and_message_ids_increment_per_chat(fake: FakeBotAPI, bot: Bot) -> None:
    me = await bot.get_me()
    assert (me.id, me.is_bot, me.username) == (42, True, "signaldesk_test_bot")

    first = await bot.send_message(chat_id=100, text="one")
    second = await bot.send_message(chat_id=100, text="two")
    other = await bot.send_message(chat_id=-200, text="group")

    assert isinstance(first, Message)
    assert (first.message_id, second.message_id, other.message_id) == (1, 2, 1)
    assert first.chat.type == "private" and other.chat.type == "supergroup"
    assert first.from_user is not None and first.from_user.id == 42
    assert [m.text for m in fake.sent_messages(100)] == ["one", "two"]
    assert [(m.chat_id, m.message_id) for m in fake.sent_messages()] == [
        (100, 1),
        (100, 2),
        (-200, 1),
    ]
    # chat_id arrives JSON-encoded; text "one" stays a str.
    assert fake.calls_for("sendMessage")[0]["chat_id"] == 100


@pytest.mark.asyncio
async def test_reply_markup_round_trips_as_dict(fake: FakeBotAPI, bot: Bot) -> None:
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Buy", callback_data="buy:1")]]
    )
    msg = await bot.send_message(chat_id=7, text="123", reply_markup=markup)

    params = fake.calls_for("sendMessage")[0]
    assert params["text"] == "123"  # numeric-looking text must not be json-decoded
    assert params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Buy", "callback_data": "buy:1"}]]
    }
    assert isinstance(msg.reply_markup, InlineKeyboardMarkup)
    assert msg.reply_markup.inline_keyboard[0][0].callback_data == "buy:1"

    edited = await bot.edit_message_text(text="edited", chat_id=7, message_id=msg.message_id)
    assert isinstance(edited, Message) and edited.text == "edited"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("kind", "exc_type", "code"),
    [
        ("429", TelegramRetryAfter, 429),
        ("403", TelegramForbiddenError, 403),
        ("400", TelegramBadRequest, 400),
        ("migrate", TelegramMigrateToChat, 400),
        ("500", TelegramServerError, 500),
    ],
)
async def test_fail_next_maps_to_aiogram_exceptions(
    fake: FakeBotAPI, bot: Bot, kind: str, exc_type: type[Exception], code: int
) -> None:
    fake.fail_next("sendMessage", kind, retry_after=7, migrate_to_chat_id=-1009)

    with pytest.raises(exc_type) as info:
        await bot.send_message(chat_id=5, text="x")
    if kind == "429":
        assert isinstance(info.value, TelegramRetryAfter) and info.value.retry_after == 7
    if kind == "migrate":
        assert isinstance(info.value, TelegramMigrateToChat)
        assert info.value.migrate_to_chat_id == -1009

    ok = await bot.send_message(chat_id=5, text="x")  # fault consumed
    assert ok.message_id == 1  # failed call did not allocate an id
    assert [c.error for c in fake.calls] == [code, None]
    assert len(fake.sent_messages()) == 1


@pytest.mark.asyncio
async def test_fault_scoped_to_chat_and_times(fake: FakeBotAPI, bot: Bot) -> None:
    fake.fail_next("sendMessage", "403", chat_id=1, times=2)

    await bot.send_message(chat_id=2, text="unaffected")
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_message(chat_id=1, text="blocked")
    await bot.send_message(chat_id=1, text="back")
    assert [m.chat_id for m in fake.sent_messages()] == [2, 1]


@pytest.mark.asyncio
async def test_rate_limits_answer_429() -> None:
    async with FakeBotAPI(global_rate=5, per_chat_rate=2) as fake:
        bot = make_bot(fake)
        try:
            results = await asyncio.gather(
                *(bot.send_message(chat_id=1, text=str(i)) for i in range(4)),
                return_exceptions=True,
            )
            assert sum(isinstance(r, Message) for r in results) == 2
            limited = [r for r in results if isinstance(r, TelegramRetryAfter)]
            assert len(limited) == 2 and all(r.retry_after == 1 for r in limited)

            # Global window: 2 used by chat 1, so only 3 more fit across other chats.
            results = await asyncio.gather(
                *(bot.send_message(chat_id=10 + i, text="g") for i in range(5)),
                return_exceptions=True,
            )
            assert sum(isinstance(r, Message) for r in results) == 3
            assert fake.throttled == 4
            assert len(fake.sent_messages()) == 5
        finally:
            await bot.session.close()


@pytest.mark.asyncio
async def test_get_updates_offset_and_long_poll(fake: FakeBotAPI, bot: Bot) -> None:
    fake.push_update({"update_id": 10, "message": _user_message(1, "/start")})
    updates = await bot.get_updates(offset=0, timeout=0)
    assert [u.update_id for u in updates] == [10]

    # Confirming 10 drops it; the long poll then wakes on the next push.
    async def push_later() -> None:
        await asyncio.sleep(0.1)
        fake.push_update({"message": _user_message(2, "hi")})

    pusher = asyncio.create_task(push_later())
    updates = await bot.get_updates(offset=11, timeout=30)
    await pusher
    assert [u.update_id for u in updates] == [11]
    assert updates[0].message is not None and updates[0].message.text == "hi"
    assert fake.pending_updates == 1

    # Empty queue: the poll is capped at ~1 s rather than the requested 30 s.
    loop = asyncio.get_running_loop()
    started = loop.time()
    assert await bot.get_updates(offset=12, timeout=30) == []
    assert loop.time() - started < 2.0


@pytest.mark.asyncio
async def test_timeout_fault_is_recorded_and_not_delivered() -> None:
    async with FakeBotAPI(timeout_delay=0.6) as fake:
        bot = make_bot(fake, timeout=0.2)
        try:
            fake.fail_next("sendMessage", "timeout")
            with pytest.raises(TelegramNetworkError):
                await bot.send_message(chat_id=3, text="slow")
            assert fake.calls[0].fault == "timeout" and not fake.calls[0].delivered
            # The side effect happened even though the client never saw the answer.
            assert [m.message_id for m in fake.sent_messages(3)] == [1]
            await asyncio.sleep(0.6)
            assert not fake.calls[0].delivered
        finally:
            await bot.session.close()


def _user_message(message_id: int, text: str) -> dict[str, object]:
    return {
        "message_id": message_id,
        "date": 1_700_000_000,
        "chat": {"id": 1, "type": "private"},
        "from": {"id": 1, "is_bot": False, "first_name": "U"},
        "text": text,
    }
