"""Telegram's paid lane (PAID_BROADCAST, bot/delivery/lanes.py) against the fake Bot API,
which enforces both lanes and the bot's Stars: signal rows go paid and a notice free; the
admin may send one at the free rate; when the day's budget or the balance runs out, or
Telegram refuses a paid send, the rest goes free, every subscriber exactly once, and the
admins are told once; what went paid is booked and shown in /stats and the report."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import func, select

from bot.admin import service as admin
from bot.notices import paid
from bot.notices.kinds import NoticeKind
from db.models import OutboxMessage, PaidDay, Signal
from tests.flows.miniapp_helpers import _login
from tests.support.api_client import call
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access, post_signal_update

LINE = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000"
FIRST = 7_300_001


def _chats(count: int) -> list[int]:
    return list(range(FIRST, FIRST + count))


async def _preview(harness: Harness) -> tuple[int, list[list[dict[str, str]]], str]:
    """The admin's preview: the draft's id, its buttons and its words."""
    await harness.send_text(ADMIN_ID, LINE)
    preview = harness.last_reply(ADMIN_ID)
    async with harness.session() as session:
        signal_id = await session.scalar(select(func.max(Signal.id)))
    assert signal_id is not None
    return signal_id, preview.params["reply_markup"]["inline_keyboard"], preview.text


def _sends(harness: Harness, chats: list[int]) -> tuple[Counter[int], Counter[int]]:
    """Per chat: messages Telegram took on the paid lane, and at the free rate."""
    paid: Counter[int] = Counter()
    free: Counter[int] = Counter()
    for message in harness.fake_bot.sent_messages():
        if message.chat_id in chats:
            lane = paid if message.params.get("allow_paid_broadcast") is True else free
            lane[message.chat_id] += 1
    return paid, free


async def _book(harness: Harness) -> tuple[int, str | None]:
    """Today's paid sends (the rows marked paid), and why the lane closed."""
    async with harness.session() as session:
        day = await session.get(PaidDay, datetime.now(UTC).date())
        sends = await paid.sends_on(session, datetime.now(UTC).date())
    return sends, day.closed if day is not None else None


async def _told(harness: Harness) -> list[dict[str, object]]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == NoticeKind.PAID_LANE_CLOSED)
        )
        return [{"chat": row.chat_id, **row.params} for row in rows]


async def _each_once(harness: Harness, chats: list[int]) -> tuple[int, int]:
    """Every subscriber had the signal exactly once; (paid, free) sends in all."""
    paid, free = _sends(harness, chats)
    assert {chat: paid[chat] + free[chat] for chat in chats} == dict.fromkeys(chats, 1)
    async with harness.session() as session:
        left = await session.scalar(
            select(func.count()).where(OutboxMessage.status != "sent", OutboxMessage.chat_id > 0)
        )
    assert left == 0
    return sum(paid.values()), sum(free.values())


async def test_signals_go_paid_with_their_updates_and_a_notice_free(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(paid_broadcast="signals")
    chats = _chats(3)
    await give_access(harness, *chats)
    signal_id, buttons, text = await _preview(harness)
    assert "3 messages × 0.1 ⭐ = <b>0.3 ⭐</b>" in text  # the price before Send
    assert "about 1 second" in text and "At the free rate: no cost, about 1 second" in text
    assert [b["text"] for row in buttons for b in row] == [
        "⚡ Send fast · 0.3 ⭐",
        "Send at the free rate",
        "Cancel",
    ]
    await harness.press(ADMIN_ID, buttons[0][0]["callback_data"])
    async with harness.session() as session, session.begin():  # a notice, queued meanwhile
        await admin.grant(session, chats[0], 7, ADMIN_ID, datetime.now(UTC))
    await harness.deliver(wait=3)
    await post_signal_update(harness, signal_id, "tp1")
    await harness.deliver(wait=3)

    paid, free = _sends(harness, chats)
    assert paid == dict.fromkeys(chats, 2)  # the signal and its update, both paid
    assert free == {chats[0]: 1}  # the grant's notice
    assert await _book(harness) == (6, None)

    await harness.send_text(ADMIN_ID, "/stats")
    assert "⚡ Fast lane: 6 messages today (0.6 ⭐) · 6 in 30 days (0.6 ⭐)" in (
        harness.last_reply(ADMIN_ID).text
    )
    await harness.parts.progress.report()  # the admin's report: the lane and the time
    edits = [c.params["text"] for c in harness.fake_bot.calls if c.method == "editMessageText"]
    reported = [e for e in edits if "⚡ fast 3 (0.3 ⭐)" in e]
    assert reported and "s from Send to the last subscriber." in reported[-1]


async def test_the_admin_sends_one_at_the_free_rate(make_harness: MakeHarness) -> None:
    harness = await make_harness(paid_broadcast="signals")
    chats = _chats(3)
    await give_access(harness, *chats)
    signal_id, buttons, _ = await _preview(harness)
    await harness.press(ADMIN_ID, buttons[1][0]["callback_data"])  # Send at the free rate
    await harness.deliver(wait=3)
    await post_signal_update(harness, signal_id, "tp1")  # its updates follow its choice
    await harness.deliver(wait=3)
    paid, free = _sends(harness, chats)
    assert (sum(paid.values()), free) == (0, dict.fromkeys(chats, 2))
    assert await _book(harness) == (0, None)
    assert harness.fake_bot.calls_for("getMyStarBalance") == []


async def test_off_sends_nothing_paid_and_offers_one_button(harness: Harness) -> None:
    chats = _chats(2)
    await give_access(harness, *chats)
    _, buttons, text = await _preview(harness)
    assert "⭐" not in text and [b["text"] for b in buttons[0]] == [
        "Send to 2 subscribers",
        "Cancel",
    ]
    await harness.press(ADMIN_ID, buttons[0][0]["callback_data"])
    await harness.deliver(wait=3)
    assert await _each_once(harness, chats) == (0, 2)


async def test_the_budget_runs_out_mid_broadcast(make_harness: MakeHarness) -> None:
    """1 Star a day: ten paid sends, the other fifteen free; each subscriber once; the
    admins told once, and a second signal that day goes free without telling again."""
    harness = await make_harness(paid_broadcast="signals", paid_broadcast_daily_stars=1)
    chats = _chats(25)
    await give_access(harness, *chats)
    _, buttons, _ = await _preview(harness)
    await harness.press(ADMIN_ID, buttons[0][0]["callback_data"])
    await harness.deliver(wait=30)
    assert await _each_once(harness, chats) == (10, 15)
    assert await _book(harness) == (10, "budget")
    told = await _told(harness)
    assert told == [{"chat": ADMIN_ID, "reason": "budget", "sends": 10, "tenths": 10, "budget": 1}]
    assert "daily budget of 1 ⭐ is spent (10 fast messages, 1 ⭐)" in (
        harness.last_reply(ADMIN_ID).text
    )

    harness.fake_bot.clear()
    _, buttons, _ = await _preview(harness)
    await harness.press(ADMIN_ID, buttons[0][0]["callback_data"])
    await harness.deliver(wait=30)
    assert await _each_once(harness, chats) == (0, 25)
    assert len(await _told(harness)) == 1


async def test_the_balance_runs_out_mid_broadcast(make_harness: MakeHarness) -> None:
    """The bot has 1.2 Stars (getMyStarBalance): twelve paid sends, then free, and Telegram
    never had to refuse one."""
    harness = await make_harness(paid_broadcast="all")
    harness.fake_bot.set_star_balance("1.2")
    chats = _chats(20)
    await give_access(harness, *chats)
    await harness.send_text(ADMIN_ID, "/broadcast hello")  # `all`: announcements go paid too
    await harness.deliver(wait=30)
    assert await _each_once(harness, chats) == (12, 8)
    assert [c.error for c in harness.fake_bot.calls if c.error] == []
    assert len(harness.fake_bot.calls_for("getMyStarBalance")) == 1
    assert harness.fake_bot.star_balance() == Decimal(0)
    assert await _book(harness) == (12, "balance")
    assert [t["reason"] for t in await _told(harness)] == ["balance"]


async def test_a_refused_paid_send_goes_again_free_exactly_once(
    make_harness: MakeHarness,
) -> None:
    """The balance could not be read, so Telegram's refusal is what stops the lane: the
    refused message was not delivered, and goes at the free rate like the rest."""
    harness = await make_harness(paid_broadcast="signals")
    harness.fake_bot.set_star_balance("0.3")
    harness.fake_bot.fail_next("getMyStarBalance", "500")
    chats = _chats(8)
    await give_access(harness, *chats)
    _, buttons, _ = await _preview(harness)
    await harness.press(ADMIN_ID, buttons[0][0]["callback_data"])
    await harness.deliver(wait=30)
    refused = [c for c in harness.fake_bot.calls if c.fault == "balance"]
    assert len(refused) >= 1
    assert all(c.params.get("allow_paid_broadcast") is True for c in refused)
    assert await _each_once(harness, chats) == (3, 5)
    assert await _book(harness) == (3, "refused")
    assert [t["reason"] for t in await _told(harness)] == ["refused"]
    async with harness.session() as session:
        attempts = await session.scalars(
            select(OutboxMessage.attempts).where(OutboxMessage.chat_id.in_(chats))
        )
        assert set(attempts) == {1}  # a refusal is not an attempt: one send each


async def test_the_mini_app_shows_the_cost_and_sends_at_the_free_rate(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(paid_broadcast="signals")
    chats = _chats(4)
    await give_access(harness, *chats)
    token = await _login(harness, {"id": ADMIN_ID, "first_name": "Boss"})
    line = {"text": LINE.removeprefix("/signal ")}
    status, body, _ = await call(
        harness, "POST", "/api/v1/admin/signals/preview", token=token, body=line
    )
    assert status == 200 and body["lanes"] == {
        "fast": {"stars": "0.4", "seconds": 1},
        "free": {"stars": "0", "seconds": 1},
    }
    bad = {**line, "paid": "no"}
    status, body, _ = await call(harness, "POST", "/api/v1/admin/signals", token=token, body=bad)
    assert (status, body["error"]["code"]) == (400, "bad_request")
    assert await _book(harness) == (0, None)

    free = {**line, "paid": False}
    status, body, _ = await call(harness, "POST", "/api/v1/admin/signals", token=token, body=free)
    assert status == 201
    await harness.deliver(wait=3)
    assert await _each_once(harness, chats) == (0, 4)
    status, body, _ = await call(harness, "POST", "/api/v1/admin/signals", token=token, body=line)
    await harness.deliver(wait=3)
    status, progress, _ = await call(
        harness, "GET", f"/api/v1/admin/broadcasts/{body['broadcast_id']}", token=token
    )
    assert (progress["paid"], progress["paid_stars"], progress["done"]) == (4, "0.4", True)
    assert progress["seconds_to_last"] is not None and progress["seconds_to_last"] >= 0
    status, stats, _ = await call(harness, "GET", "/api/v1/admin/stats", token=token)
    assert stats["paid_lane"]["today"] == {"sends": 4, "stars": "0.4"}
