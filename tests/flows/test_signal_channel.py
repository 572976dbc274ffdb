"""The signal channel (SIGNAL_CHAT_ID), end to end against the fake Bot API on SQLite and
PostgreSQL: each signal posted there as it is published (whoever has access) with its
updates as replies to that post; a delay before the post, the updates held behind it;
results mode (closed results only, with a Subscribe link); the bot's rights checked at
start-up; and a group's limit of 20 messages a minute kept, nothing lost."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.exceptions import TelegramRetryAfter
from sqlalchemy import func, select

from bot.core.settings import SettingsError, load_settings
from bot.core.startup import config_warnings
from bot.delivery.pacing import ChatPace
from bot.delivery.plan import GROUP_INTERVAL, plan_batch
from bot.notices.kinds import NoticeKind
from bot.telegram.signal_chat import missing_rights
from bot.texts.keyboards import SignalButton
from db.models import Broadcast, OutboxMessage, OutboxStatus, Signal
from tests.support.api_client import call, login
from tests.support.fakes.bot_api import BOT_USERNAME, FakeBotAPI, SentMessage
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.harness import ADMIN_ID, BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import give_access, outbox
from tests.support.processes import TOKEN as PROCESS_TOKEN
from tests.support.processes import eventually, running_bot
from webapp.keys import SIGNAL_CHAT

CHANNEL = -1_009_876_543_210
ANN = 8_100_001  # a subscriber
BOB = 8_100_002  # not one
LINE = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000"
POSTING = {"can_post_messages": True}


async def _publish(harness: Harness, line: str = LINE) -> int:
    """The admin posts `line` and presses Send, as in chat; the signal's id."""
    await harness.send_text(ADMIN_ID, line)
    async with harness.session() as session:
        signal_id = await session.scalar(select(func.max(Signal.id)))
    assert signal_id is not None
    await harness.press(ADMIN_ID, SignalButton(action="send", signal_id=signal_id).pack())
    return int(signal_id)


def _replied_to(message: SentMessage) -> int | None:
    parameters: dict[str, Any] | None = message.params.get("reply_parameters")
    return parameters["message_id"] if parameters else None


async def _statuses(harness: Harness, chat_id: int) -> list[str]:
    return [row.status for row in await outbox(harness, chat_id)]


# --- the settings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "words"),
    [
        ("signal_chat_id", "123456", "is not a channel or supergroup id"),
        ("signal_chat_id", "@mychannel", "is not a channel or supergroup id"),
        ("signal_chat_id", "-100", "is not a channel or supergroup id"),
        ("signal_chat_id", "-1001234567890,-1001234567891", "must be one channel"),
        ("signal_chat_delay_minutes", "1441", "less than or equal to 1440"),
        ("signal_chat_delay_minutes", "-5", "greater than or equal to 0"),
        ("signal_chat_delay_minutes", "soon", "valid integer"),
        ("signal_chat_mode", "teaser", "must be signals (every signal and update) or results"),
    ],
)
def test_a_bad_channel_setting_stops_start_up_naming_the_variable(
    name: str, value: str, words: str
) -> None:
    with pytest.raises(SettingsError, match=f"^{name.upper()}: .*{re.escape(words)}"):
        load_settings(_env_file=None, bot_token=BOT_TOKEN, **{name: value})


def test_the_channel_settings_read_as_documented() -> None:
    settings = load_settings(_env_file=None, bot_token=BOT_TOKEN)
    assert (settings.signal_chat_id, settings.signal_chat_delay_minutes) == (None, 0)
    assert settings.signal_chat_mode == "signals"
    settings = load_settings(
        _env_file=None,
        bot_token=BOT_TOKEN,
        signal_chat_id=f" {CHANNEL} ",
        signal_chat_delay_minutes="1440",
        signal_chat_mode="ALL",  # the word for `signals`
    )
    assert (settings.signal_chat_id, settings.signal_chat_delay_minutes) == (CHANNEL, 1440)
    assert settings.signal_chat_mode == "signals"
    results = load_settings(
        _env_file=None,
        bot_token=BOT_TOKEN,
        signal_chat_mode="results",
        signal_chat_delay_minutes=5,
    )
    assert any("SIGNAL_CHAT_DELAY_MINUTES has no effect" in w for w in config_warnings(results))


# --- the pace of a group ----------------------------------------------------------------------


def test_a_group_gets_one_message_every_three_seconds_a_person_every_second() -> None:
    now = datetime.now(UTC)
    rows = [
        OutboxMessage(id=1, chat_id=CHANNEL, kind=NoticeKind.CHANNEL_SIGNAL, params={}),
        OutboxMessage(id=2, chat_id=ANN, kind=NoticeKind.BROADCAST, params={}),
    ]
    for row in rows:
        row.reply_to_outbox_id = None
    last = {CHANNEL: 100.0, ANN: 100.0}
    soon = plan_batch(rows, allowed=set(), originals={}, last_sent=last, clock=102.0, now=now)
    assert [s.row.id for s in soon.sends] == [2] and set(soon.later) == {1}
    assert (soon.later[1][0] - now).total_seconds() >= GROUP_INTERVAL >= 3
    later = plan_batch(rows, allowed=set(), originals={}, last_sent=last, clock=103.2, now=now)
    assert [s.row.id for s in later.sends] == [1, 2]
    pace = ChatPace(lambda: 50.0)
    pace.note(CHANNEL)
    assert pace.reserve(CHANNEL) >= GROUP_INTERVAL  # a reply to a group waits its 3 s too


async def test_the_fake_answers_429_past_twenty_messages_a_minute_to_a_group(
    fake_bot: FakeBotAPI, make_harness: MakeHarness
) -> None:
    harness = await make_harness()
    clock = [1000.0]
    fake_bot.monotonic = lambda: clock[0]
    bot = harness.parts.bot
    for _ in range(20):
        await bot.send_message(CHANNEL, "ok")
        clock[0] += 1
    with pytest.raises(TelegramRetryAfter, match="retry after 40"):
        await bot.send_message(CHANNEL, "one too many")
    for _ in range(25):  # a person's chat has no such minute
        await bot.send_message(ANN, "fine")
    clock[0] += 40
    await bot.send_message(CHANNEL, "room again")
    assert fake_bot.throttled == 1 and len(fake_bot.sent_messages(CHANNEL)) == 21


# --- signals mode -----------------------------------------------------------------------------


async def test_a_published_signal_goes_to_the_channel_and_to_the_subscribers(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(signal_chat_id=CHANNEL)
    await give_access(harness, ANN)
    await harness.send_text(BOB, "/start")
    signal_id = await _publish(harness)
    await harness.deliver(wait=10)
    (post,) = harness.replies(CHANNEL)  # nobody's access is asked for the channel's copy
    assert "BTC/USDT" in post.text and f"#{signal_id}" in post.text
    (copy,) = harness.replies(ANN)
    assert copy.text == post.text
    assert len(harness.replies(BOB)) == 1  # the welcome only
    async with harness.session() as session:
        subscribers = await session.scalar(
            select(Broadcast.total).where(Broadcast.kind == NoticeKind.SIGNAL)
        )
    assert subscribers == 1  # "Send to 1 subscriber": the channel is not one of them


async def test_a_signal_sent_from_the_mini_app_goes_to_the_channel_too(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(signal_chat_id=CHANNEL)
    token = await login(harness, {"id": ADMIN_ID, "first_name": "Boss"})
    status, body, _ = await call(
        harness, "POST", "/api/v1/admin/signals", token=token, body={"text": LINE[8:]}
    )
    assert status == 201 and body["total"] == 0  # no subscriber yet; the channel regardless
    await harness.deliver()
    (post,) = harness.replies(CHANNEL)
    assert f"#{body['signal_id']}" in post.text


async def test_an_update_goes_to_the_channel_as_a_reply_to_its_own_post(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(signal_chat_id=CHANNEL)
    await give_access(harness, ANN)
    signal_id = await _publish(harness)
    await harness.deliver(wait=10)
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp1")
    await harness.send_text(ADMIN_ID, f"/update {signal_id} close 68000")
    await harness.deliver(wait=20)
    post, tp1, close = harness.replies(CHANNEL)
    ann_post, ann_tp1, ann_close = harness.replies(ANN)
    assert (tp1.text, close.text) == (ann_tp1.text, ann_close.text)  # the same words
    assert _replied_to(tp1) == _replied_to(close) == post.message_id
    assert _replied_to(ann_tp1) == ann_post.message_id
    assert await _statuses(harness, CHANNEL) == [OutboxStatus.SENT] * 3


async def test_a_delayed_channel_gets_the_post_after_the_delay_then_its_updates(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(signal_chat_id=CHANNEL, signal_chat_delay_minutes=30)
    await give_access(harness, ANN)
    signal_id = await _publish(harness)
    await harness.deliver()
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp1")
    await harness.send_text(ADMIN_ID, f"/update {signal_id} sl 66000")
    await harness.deliver(wait=10)
    ann_post, ann_tp1, ann_stop = harness.replies(ANN)  # the subscriber has had it all
    assert harness.replies(CHANNEL) == []
    held = [(row.kind, row.next_attempt_at) for row in await outbox(harness, CHANNEL)]
    assert [kind for kind, _ in held] == ["channel_signal", "channel_update", "channel_update"]
    assert all(due >= held[0][1] for _, due in held)  # the updates wait for the post's time
    harness.clock.skip(29 * 60)
    await harness.deliver(wait=10)
    assert harness.replies(CHANNEL) == []  # a minute before the delay is up: nothing
    await harness.deliver(wait=2 * 60)
    post, tp1, stop = harness.replies(CHANNEL)
    assert [post.text, tp1.text, stop.text] == [ann_post.text, ann_tp1.text, ann_stop.text]
    assert _replied_to(tp1) == _replied_to(stop) == post.message_id
    sends = [c for c in harness.fake_bot.calls if c.params.get("chat_id") == CHANNEL]
    assert [c.error for c in sends] == [None] * 3


async def test_a_signal_from_before_the_channel_sends_its_updates_to_subscribers_only(
    make_harness: MakeHarness,
) -> None:
    before = await make_harness()
    await give_access(before, ANN)
    signal_id = await _publish(before)
    await before.deliver()
    after = await make_harness(signal_chat_id=CHANNEL)
    await after.send_text(ADMIN_ID, f"/update {signal_id} tp1")
    await after.deliver(wait=5)
    assert after.replies(CHANNEL) == [] and len(after.replies(ANN)) == 2


# --- results mode -----------------------------------------------------------------------------


async def test_results_mode_posts_only_closed_results_with_a_subscribe_link(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(signal_chat_id=CHANNEL, signal_chat_mode="results")
    await give_access(harness, ANN)
    won = await _publish(harness)
    lost = await _publish(harness, "/signal ETHUSDT short entry 3400-3450 sl 3520 tp 3300")
    cancelled = await _publish(harness, "/signal SOLUSDT long entry 20 sl 19 tp 21")
    still_open = await _publish(harness, "/signal XRPUSDT long entry 1 sl 0.9 tp 1.2 1.5")
    await harness.deliver(wait=10)
    assert harness.replies(CHANNEL) == []  # no signal is posted in results mode
    for update in (f"{won} tp1", f"{won} tp2", f"{lost} sl", f"{cancelled} cancel"):
        await harness.send_text(ADMIN_ID, f"/update {update}")
    await harness.send_text(ADMIN_ID, f"/update {still_open} tp1")
    await harness.deliver(wait=20)
    first, second = harness.replies(CHANNEL)
    assert f"#{won}" in first.text and "BTCUSDT" in first.text and "✅" in first.text
    assert "65000" in first.text and "69000" in first.text and "+6.15 %" in first.text
    assert f"#{lost}" in second.text and "❌" in second.text and "3400–3450" in second.text
    link = f"https://t.me/{BOT_USERNAME}?start=channel"
    for result in (first, second):
        (button,) = result.params["reply_markup"]["inline_keyboard"][0]
        assert button == {"text": "Subscribe", "url": link}
        assert _replied_to(result) is None
    assert len(harness.replies(ANN)) == 4 + 5  # the subscriber gets everything, as always


# --- the bot's rights -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rights", "problem"),
    [
        ({"can_post_messages": False}, "missing: can_post_messages"),  # a channel's admin
        (None, "missing: administrator"),  # a member, not an administrator
        ("absent", "missing: chat unreachable (TelegramBadRequest)"),  # not in the chat
    ],
)
async def test_missing_rights_are_a_line_a_readyz_entry_and_a_word_to_the_admins(
    make_harness: MakeHarness,
    caplog: pytest.LogCaptureFixture,
    rights: dict[str, bool] | str | None,
    problem: str,
) -> None:
    harness = await make_harness(signal_chat_id=CHANNEL)
    chats = harness.fake_bot.chats
    chats.bot_id = harness.settings.bot_id
    if rights != "absent":
        chats.add_chat(CHANNEL, bot_rights=rights if isinstance(rights, dict) else None)
    signal_chat = harness.parts.web_app[SIGNAL_CHAT]
    assert await signal_chat.check_rights(datetime.now(UTC)) == {CHANNEL: problem}
    lines = [r.getMessage() for r in caplog.records if "signal chat" in r.getMessage()]
    assert lines == [f"signal chat {CHANNEL}: the bot lacks {problem.removeprefix('missing: ')}"]
    async with harness.http.get(harness.base_url + "/readyz") as response:
        body = await response.json()
    assert response.status == 200 and body["status"] == "ready"
    assert body["signal_chat"] == {str(CHANNEL): problem}
    await signal_chat.check_rights(datetime.now(UTC))  # a restart: the admins not told again
    await harness.deliver(wait=5)
    (told,) = [m for m in harness.replies(ADMIN_ID) if "SIGNAL_CHAT_ID" in m.text]
    assert str(CHANNEL) in told.text and problem in told.text


async def test_telegram_down_at_start_up_is_no_word_to_the_admins(
    make_harness: MakeHarness,
) -> None:
    """Telegram's trouble, not the channel's: shown, logged, nothing for the admins to fix."""
    harness = await make_harness(signal_chat_id=CHANNEL)
    harness.fake_bot.fail_next("getChatMember", "500")
    problems = await harness.parts.web_app[SIGNAL_CHAT].check_rights(datetime.now(UTC))
    assert problems == {
        CHANNEL: "missing: rights unknown, Telegram unavailable (TelegramServerError)"
    }
    assert await outbox(harness) == []


async def test_an_administrator_that_may_post_is_no_problem(make_harness: MakeHarness) -> None:
    harness = await make_harness(signal_chat_id=CHANNEL)
    chats = harness.fake_bot.chats
    chats.bot_id = harness.settings.bot_id
    chats.add_chat(CHANNEL, bot_rights=POSTING)
    assert await harness.parts.web_app[SIGNAL_CHAT].check_rights(datetime.now(UTC)) == {}
    async with harness.http.get(harness.base_url + "/readyz") as response:
        assert "signal_chat" not in await response.json()
    assert missing_rights({"status": "administrator"}) == []  # a supergroup's: may send
    assert missing_rights({"status": "creator"}) == []
    assert missing_rights({"status": "restricted", "can_send_messages": True}) == ["administrator"]


async def test_start_up_logs_the_missing_right_once_and_readyz_shows_it(
    tmp_path: Path, migrated_env: dict[str, str], fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    fake_bot, _ = fakes
    fake_bot.chats.bot_id = int(PROCESS_TOKEN.split(":")[0])
    fake_bot.chats.add_chat(CHANNEL, bot_rights={"can_post_messages": False})
    env = {**migrated_env, "SIGNAL_CHAT_ID": str(CHANNEL), "LOG_LEVEL": "INFO"}
    line = f"signal chat {CHANNEL}: the bot lacks can_post_messages"
    async with (
        running_bot(env, tmp_path) as bot,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):
        await bot.wait_ready(http)
        await eventually(lambda: line in bot.output(), "the start-up line")
        async with http.get(bot.base_url + "/readyz") as response:
            body = await response.json()
        assert response.status == 200
        assert body["signal_chat"] == {str(CHANNEL): "missing: can_post_messages"}
        assert await bot.terminate() == 0
    assert bot.output().count(line) == 1


# --- the group's limit ------------------------------------------------------------------------


async def test_twenty_five_posts_and_updates_in_a_minute_are_paced_and_none_is_lost(
    make_harness: MakeHarness,
) -> None:
    """Five signals with four take-profits each, every one hit: 25 messages for the channel
    queued within a minute. Telegram takes 20 a minute in a group; the fake answers 429
    past that, on the harness's clock."""
    harness = await make_harness(signal_chat_id=CHANNEL)
    harness.fake_bot.monotonic = harness.clock.monotonic
    await give_access(harness, ANN)
    symbols = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "XRPUSDT", "BNBUSDT")
    ids = [
        await _publish(harness, f"/signal {symbol} long entry 100 sl 90 tp 110 120 130 140")
        for symbol in symbols
    ]
    for signal_id in ids:
        for n in range(1, 5):
            await harness.send_text(ADMIN_ID, f"/update {signal_id} tp{n}")
    await harness.deliver(wait=10 * 60)
    assert harness.fake_bot.throttled == 0
    sent = harness.replies(CHANNEL)
    assert len(sent) == 25 and await _statuses(harness, CHANNEL) == [OutboxStatus.SENT] * 25
    posts = {m.message_id: m for m in sent if _replied_to(m) is None}
    assert len(posts) == 5
    for message in sent:  # every update after its own post, as a reply to it
        if (original := _replied_to(message)) is not None:
            assert sent.index(posts[original]) < sent.index(message)
    times = [c.at for c in harness.fake_bot.calls if c.params.get("chat_id") == CHANNEL]
    assert min(b - a for a, b in zip(times, times[1:], strict=False)) >= 3.0
    assert len(harness.replies(ANN)) == 25  # the subscriber's copies too
