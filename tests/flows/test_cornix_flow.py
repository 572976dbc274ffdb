"""SIGNAL_STYLE=cornix end to end, through the real dispatcher and the fake Bot API: what
subscribers get reads back with the rules' reader, a pasted signal gets the same preview,
an eighth signal within a minute is refused in chat and in the Mini App, and
SIGNAL_STYLE=classic keeps today's look."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.signals import service as signals
from bot.signals.posting_limit import PostingLimitError
from bot.signals.syntax import parse_signal
from bot.texts.keyboards import SignalButton
from db.models import OutboxMessage, Signal, SignalStatus
from tests.support.api_client import call, login
from tests.support.cornix_reader import ReadSignal, read_signal, reply_command
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import count, give_access

SUBSCRIBER = 7301
OUTSIDER = 7309
LINE = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note breakout"
PASTED = "BTC/USDT LONG\nEntry 65000-65500\nTargets 67000 69000\nSL 63500\nLev 5x"


async def _draft(harness: Harness, text: str) -> int:
    await harness.send_text(ADMIN_ID, text)
    async with harness.session() as session:
        signal_id: int | None = await session.scalar(select(func.max(Signal.id)))
    assert signal_id is not None
    return signal_id


async def _send(harness: Harness, signal_id: int) -> dict[str, object]:
    """Press Send on a draft's preview; Telegram's answer to the press."""
    await harness.press(ADMIN_ID, SignalButton(action="send", signal_id=signal_id).pack())
    answer: dict[str, object] = harness.fake_bot.calls_for("answerCallbackQuery")[-1]
    return answer


async def test_subscribers_get_what_a_trading_bot_reads(harness: Harness) -> None:
    await give_access(harness, SUBSCRIBER)
    signal_id = await _draft(harness, LINE)
    assert "BTC/USDT</b> Long" in harness.last_reply(ADMIN_ID).text  # the preview, too
    await _send(harness, signal_id)
    await harness.deliver()
    (message,) = harness.replies(SUBSCRIBER)
    assert message.params["parse_mode"] == "HTML" or "parse_mode" not in message.params
    assert read_signal(message.text) == ReadSignal(
        "BTC/USDT",
        "long",
        (Decimal(65000),),
        False,
        (Decimal(67000), Decimal(69000)),
        Decimal(63500),
        Decimal(5),
        "Isolated",
    )
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp1 closing half")
    assert "closing" in harness.last_reply(ADMIN_ID).text  # refused: bots would sell it all
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp1 trail the stop")
    await harness.send_text(ADMIN_ID, f"/update {signal_id} close 66000")
    await harness.deliver(wait=3)
    tp1, close = harness.replies(SUBSCRIBER)[1:]
    assert reply_command(tp1.text) is None and "trail the stop" in tp1.text
    assert reply_command(close.text) == "close" and close.text.startswith("Close BTC/USDT")


async def test_a_pasted_signal_gets_the_same_preview(harness: Harness) -> None:
    await give_access(harness, SUBSCRIBER)
    await harness.send_text(ADMIN_ID, PASTED)  # no command: an admin's lines are a signal
    preview = harness.last_reply(ADMIN_ID)
    assert "Preview" in preview.text and "<b>Entry Zone:</b> 65000-65500" in preview.text
    buttons = preview.params["reply_markup"]["inline_keyboard"][0]
    assert buttons[0]["text"] == "Send to 1 subscriber"
    async with harness.session() as session:
        draft = await session.scalar(select(Signal))
    assert draft is not None and draft.symbol == "BTC/USDT" and draft.leverage == 5

    await harness.send_text(ADMIN_ID, "/signal\nBTC/USDT LONG\nEntry 65000\nTargts 67000\nSL 1")
    reply = harness.last_reply(ADMIN_ID).text
    assert "<code>Targts</code>" in reply and "expected Entry, Targets" in reply
    assert "[Note text]</code>" in reply  # the pasted layout, not the one-line syntax
    assert await count(harness, Signal) == 1

    await harness.send_text(OUTSIDER, PASTED)  # anyone else's lines are just text
    assert (
        harness.last_reply(OUTSIDER).text == "I answer commands, not messages: /help lists them."
    )


async def test_an_eighth_signal_within_a_minute_is_refused(harness: Harness) -> None:
    await give_access(harness, SUBSCRIBER)
    for n in range(7):
        signal_id = await _draft(harness, f"/signal BTCUSDT long entry {100 + n} sl 90 tp 120")
        assert not (await _send(harness, signal_id)).get("show_alert")
    eighth = await _draft(harness, "/signal ETHUSDT short entry 3400 sl 3500 tp 3300")
    answer = await _send(harness, eighth)
    assert answer["show_alert"] is True
    text = str(answer["text"])
    assert text.startswith("Not sent: at most 7 signals a minute") and "try again in" in text
    async with harness.session() as session:
        draft = await session.get(Signal, eighth)
        assert draft is not None and draft.status == SignalStatus.DRAFT  # Send works later
        assert draft.published_at is None
        queued = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert queued == 7

    token = await login(harness, {"id": ADMIN_ID, "first_name": "Boss"})
    status, body, headers = await call(
        harness, "POST", "/api/v1/admin/signals", token=token, body={"text": PASTED}
    )
    assert (status, body["error"]["code"]) == (429, "too_many_signals")
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert await count(harness, Signal) == 8  # the Mini App's draft went with its refusal


async def _published_elsewhere(harness: Harness, seconds_ago: list[int]) -> None:
    """Signals another process published (rows in the shared database)."""
    now = datetime.now(UTC)
    async with harness.session() as session, session.begin():
        for ago in seconds_ago:
            session.add(
                Signal(
                    symbol="BTCUSDT",
                    side="long",
                    entry_low=Decimal(100),
                    entry_high=Decimal(100),
                    stop_loss=Decimal(90),
                    take_profits=["120"],
                    status=SignalStatus.OPEN,
                    author_id=ADMIN_ID,
                    published_at=now - timedelta(seconds=ago),
                )
            )


async def test_the_count_is_the_databases_not_one_process(harness: Harness) -> None:
    """Signals another process published a moment ago count (PostgreSQL: several
    instances behind a load balancer share the database)."""
    await _published_elsewhere(harness, [50, 49, 48, 47, 46, 45, 44])
    signal_id = await _draft(harness, "/signal BTCUSDT long entry 100 sl 90 tp 120")
    answer = await _send(harness, signal_id)
    assert answer["show_alert"] is True and "try again in" in str(answer["text"])
    seconds = int(str(answer["text"]).rsplit("in ", 1)[1].split()[0])
    assert 1 <= seconds <= 11  # the oldest of the seven leaves the minute by then


@pytest.mark.waits  # a second, while the second publish waits on the first's lock
async def test_two_publishes_at_once_cannot_both_be_the_seventh(harness: Harness) -> None:
    """PostgreSQL, two instances: each publish counts the others under one lock, so the
    second waits for the first's commit and counts it (without the lock both would count
    six and both go out)."""
    if harness.parts.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has one writer: publishes are taken in turn anyway")
    await _published_elsewhere(harness, [30, 29, 28, 27, 26, 25])
    drafts = []
    async with harness.session() as session, session.begin():
        for _ in range(2):
            spec = parse_signal("ETHUSDT short entry 3400 sl 3500 tp 3300")
            drafts.append((await signals.create_draft(session, spec, ADMIN_ID)).id)

    async def publish(signal_id: int) -> None:
        async with harness.session() as session, session.begin():
            await signals.publish(session, signal_id, datetime.now(UTC), per_minute=7)

    async with harness.session() as first, first.begin():
        await signals.publish(first, drafts[0], datetime.now(UTC), per_minute=7)  # uncommitted
        second = asyncio.create_task(publish(drafts[1]))
        await asyncio.wait({second}, timeout=1)  # the time to race; it waits on the lock
    with pytest.raises(PostingLimitError):
        await second


async def test_classic_keeps_todays_look(make_harness: MakeHarness) -> None:
    harness = await make_harness(signal_style="classic")
    await give_access(harness, SUBSCRIBER)
    await _published_elsewhere(harness, [5, 4, 3, 2, 1, 1, 1])  # no bot's limit to keep
    signal_id = await _draft(harness, LINE)
    assert not (await _send(harness, signal_id)).get("show_alert")
    await harness.deliver()
    (message,) = harness.replies(SUBSCRIBER)
    assert message.text.startswith(f"🟢 <b>LONG BTCUSDT</b>  #{signal_id}\nEntry: <b>65000</b>")
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp1 closing half")  # no bot reads it
    await harness.deliver(wait=3)
    assert "closing half" in harness.replies(SUBSCRIBER)[-1].text
    await harness.send_text(ADMIN_ID, "/signal XAUT long entry 2000 sl 1900 tp 2100 note buy")
    assert "Preview" in harness.last_reply(ADMIN_ID).text  # no pair or bot words needed
