"""A reply the bot owes a person is never lost to a 429 or a network error
(bot/chat/replies.py), and replies and outbox sends to one chat keep the per-chat limit
together. The fake Bot API counts its limits on the harness's skipping clock, so the app's
waits count there as they would at Telegram, without waiting in real time."""

from __future__ import annotations

import pytest
from aiogram.exceptions import TelegramForbiddenError
from aiogram.methods import SendMessage, SendPhoto
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, ReplyKeyboardMarkup
from sqlalchemy import select

from bot.chat.replies import _outbox_params
from bot.delivery.pacing import ChatPace
from bot.notices import outbox
from bot.notices.kinds import NoticeKind
from bot.texts import CATALOGUE, plain
from bot.texts.labels import kind_label
from db.models import OutboxMessage
from tests.support.harness import ADMIN_ID, Harness

USER = 7007
BAD_STOP = "/signal BTCUSDT long entry 65000 sl 66000 tp 67000"


def _on_one_clock(harness: Harness, per_chat_rate: float | None = 1) -> None:
    harness.fake_bot.per_chat_rate = per_chat_rate
    harness.fake_bot.monotonic = harness.clock.monotonic


async def _queued_replies(harness: Harness) -> list[OutboxMessage]:
    async with harness.session() as session:
        rows = await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reply"))
        return list(rows)


async def test_a_reply_right_after_a_delivery_to_the_same_chat_waits_its_turn(
    harness: Harness,
) -> None:
    """The issue's case: the delivery worker had just sent to the admin when their /signal
    with a bad stop was answered; Telegram's per-chat limit refused the reply and it was
    dropped. Now the reply takes the chat's next turn: no 429, nothing lost."""
    _on_one_clock(harness)
    async with harness.session() as session, session.begin():
        await outbox.enqueue(
            session, chat_id=ADMIN_ID, kind=NoticeKind.REPLY, params={"html": "report"}
        )
    assert await harness.deliver() == 1
    await harness.send_text(ADMIN_ID, BAD_STOP)
    texts = [message.text for message in harness.replies(ADMIN_ID)]
    assert texts[0] == "report"
    assert len(texts) == 2 and "sl must be below the entry" in texts[1]
    assert harness.fake_bot.throttled == 0  # the reply waited for the chat's turn
    assert [row.status for row in await _queued_replies(harness)] == ["sent"]


async def test_a_429_is_waited_out_and_the_reply_sent_once(harness: Harness) -> None:
    _on_one_clock(harness, per_chat_rate=None)
    harness.fake_bot.fail_next("sendMessage", "429", chat_id=USER, retry_after=3)
    before = harness.clock.offset
    await harness.send_text(USER, "/help")
    refused = [c for c in harness.fake_bot.calls if c.method == "sendMessage" and c.error]
    assert [c.error for c in refused] == [429]
    assert len(harness.replies(USER)) == 1
    assert harness.clock.offset - before >= 3  # retry_after was kept
    assert await _queued_replies(harness) == []


@pytest.mark.parametrize("fault", ["html", "500"])
async def test_an_error_page_or_a_5xx_is_tried_again(harness: Harness, fault: str) -> None:
    harness.fake_bot.fail_next("sendMessage", fault, chat_id=USER, times=2)
    await harness.send_text(USER, "/help")
    assert len(harness.replies(USER)) == 1
    assert await _queued_replies(harness) == []


async def test_a_429_longer_than_a_reply_may_wait_goes_through_the_outbox(
    harness: Harness,
) -> None:
    await harness.send_text(USER, "/settings")
    expected = harness.last_reply(USER)
    harness.fake_bot.clear()
    harness.fake_bot.fail_next("sendMessage", "429", chat_id=USER, retry_after=120)
    await harness.send_text(USER, "/settings")  # the handler ends quietly, its reply queued
    assert harness.replies(USER) == []
    queued = await _queued_replies(harness)
    assert [row.status for row in queued] == ["pending"]
    await harness.deliver(wait=5)
    [delivered] = harness.replies(USER)
    assert delivered.text == expected.text
    assert delivered.params.get("reply_markup") == expected.params.get("reply_markup")
    assert expected.params.get("reply_markup")  # /settings has buttons: they came through too
    assert [row.status for row in await _queued_replies(harness)] == ["sent"]


def test_a_reply_waits_in_the_outbox_as_the_html_it_would_have_been() -> None:
    buttons = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Pay", callback_data="b:1")]]
    )
    html_reply = SendMessage(chat_id=1, text="<b>1 &amp; 2</b>", reply_markup=buttons)
    assert _outbox_params(html_reply) == {
        "html": "<b>1 &amp; 2</b>",
        "markup": {"inline_keyboard": [[{"text": "Pay", "callback_data": "b:1"}]]},
    }
    plain_reply = SendMessage(chat_id=1, text="entry <1 & 2>", parse_mode=None)
    assert _outbox_params(plain_reply) == {"html": "entry &lt;1 &amp; 2&gt;"}
    assert _outbox_params(SendMessage(chat_id=1, text="*x*", parse_mode="MarkdownV2")) is None
    keyboard = ReplyKeyboardMarkup(keyboard=[])
    assert _outbox_params(SendMessage(chat_id=1, text="x", reply_markup=keyboard)) is None
    assert _outbox_params(SendPhoto(chat_id=1, photo="id")) is None


async def test_a_refusal_about_the_message_is_not_tried_again(harness: Harness) -> None:
    harness.fake_bot.fail_next("sendMessage", "403", chat_id=USER)
    with pytest.raises(TelegramForbiddenError):
        await harness.send_text(USER, "/help")
    calls = harness.fake_bot.calls_for("sendMessage")
    assert len(calls) == 1
    assert await _queued_replies(harness) == []


async def test_an_outbox_send_waits_behind_a_reply_to_the_same_chat(harness: Harness) -> None:
    """The other way round: a reply takes the chat's turn and the worker's next message to
    that chat waits a second instead of meeting a 429."""
    _on_one_clock(harness)
    await harness.send_text(USER, "/help")
    async with harness.session() as session, session.begin():
        await outbox.enqueue(
            session, chat_id=USER, kind=NoticeKind.REPLY, params={"html": "notice"}
        )
    assert await harness.deliver(wait=2) == 2  # held back once by the per-chat limit
    assert [m.text for m in harness.replies(USER)][-1] == "notice"
    assert harness.fake_bot.throttled == 0


def test_chat_pace_puts_replies_behind_the_workers_sends_and_the_worker_behind_replies() -> None:
    now = [100.0]
    pace = ChatPace(lambda: now[0])
    assert pace.reserve(1) == 0  # nothing sent to the chat
    assert pace.reserve(1) == 0  # a second reply is not spaced behind the first
    pace.note(2)  # the worker sends to chat 2
    assert pace.reserve(2) == pytest.approx(1.1)  # a reply waits a second, with a margin
    assert pace.reserve(3) == 0  # another chat is not held
    assert pace.last_sent[1] == 100.0 and pace.last_sent[2] == pytest.approx(101.1)
    now[0] = 100.4
    assert pace.reserve(2) == pytest.approx(0.7)  # the same turn, nearer now
    now[0] = 110.0
    pace.forget_before(now[0] - 1)
    assert pace.last_sent == {}
    assert pace.reserve(2) == 0  # the worker's send is forgotten too


def test_the_reply_kind_has_a_label() -> None:
    with CATALOGUE.use_locale("ru"):
        assert kind_label("reply") == plain("kind.reply") == "ответ"
