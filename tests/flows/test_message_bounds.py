"""What the parser accepts the database can hold and Telegram can show: prices and results
within the columns on both databases, notes bounded, every message within 4,096 characters
(the fake Bot API refuses longer ones, as Telegram does)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from bot.texts.keyboards import SignalButton
from db.models import OutboxMessage, Signal
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import give_access, outbox

SUBSCRIBER = 7601


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    """SIGNAL_STYLE=classic: the bounds of the syntax and the columns themselves, with
    nothing a trading bot needs on top (tests/test_cornix_*.py hold those)."""
    return await make_harness(signal_style="classic")


TPS = " ".join(f"9999999999{n:02d}.1234567891" for n in range(1, 11))
# Every field at its longest: ten 22-digit take-profits, leverage, timeframe, 500 characters
# of note that HTML escaping makes five times as long.
LONGEST = (
    f"/signal ABCDEFGHIJKLMNOPQRST long entry 999999999900.0000000001-999999999900.0000000002 "
    f"sl 999999999800 tp {TPS} lev 200 tf 1mo note " + "&" * 500
)


async def _post(harness: Harness, line: str) -> int:
    await harness.send_text(ADMIN_ID, line)
    async with harness.session() as session:
        signal_id = await session.scalar(select(func.max(Signal.id)))
    assert signal_id is not None, harness.last_reply(ADMIN_ID).text
    await harness.press(ADMIN_ID, SignalButton(action="send", signal_id=signal_id).pack())
    return int(signal_id)


async def _failed(harness: Harness) -> list[str]:
    return [r.last_error or "" for r in await outbox(harness) if r.status != "sent"]


async def test_the_longest_signal_and_update_reach_subscribers(harness: Harness) -> None:
    await give_access(harness, SUBSCRIBER)
    signal_id = await _post(harness, LONGEST)
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp3 " + "<" * 500)
    await harness.deliver(wait=3)
    assert await _failed(harness) == []
    signal, update = harness.replies(SUBSCRIBER)
    assert "TP10" in signal.text and "&amp;" * 500 in signal.text
    assert "TP3 hit" in update.text
    async with harness.session() as session:
        row = await session.get(Signal, signal_id)
    assert row is not None and row.take_profits[9] == "999999999910.1234567891"


async def test_ten_of_the_longest_signals_still_list_in_one_message(harness: Harness) -> None:
    await give_access(harness, SUBSCRIBER)
    for _ in range(10):
        await _post(harness, LONGEST)
    await harness.send_text(SUBSCRIBER, "/signals")
    reply = harness.last_reply(SUBSCRIBER)
    assert "Latest signals" in reply.text and "Open now" in reply.text  # as many as fit


async def test_the_longest_broadcast_reaches_subscribers(harness: Harness) -> None:
    await give_access(harness, SUBSCRIBER)
    text = "&" * (4096 - len("/broadcast "))  # the longest message Telegram lets an admin send
    await harness.send_text(ADMIN_ID, f"/broadcast {text}")
    await harness.deliver()
    assert await _failed(harness) == []
    assert harness.last_reply(SUBSCRIBER).text == "&amp;" * len(text)


@pytest.mark.parametrize(
    ("line", "named"),
    [
        # 1 R is 10**-10 of the price: a take-profit 10**13 R away.
        ("/signal BTC long entry 1000 sl 999.9999999999 tp 999999999999", "999999999999"),
        # An entry of 10**-10 and a take-profit of 10**12: 10**24 %.
        ("/signal BTC long entry 0.0000000002 sl 0.0000000001 tp 999999999999", "999999999999"),
        # A short with its stop 10**22 % away.
        ("/signal BTC short entry 0.0000000002 sl 999999999999 tp 0.0000000001", "999999999999"),
    ],
)
async def test_levels_whose_results_no_column_can_hold_are_refused(
    harness: Harness, line: str, named: str
) -> None:
    await harness.send_text(ADMIN_ID, line)
    reply = harness.last_reply(ADMIN_ID).text
    assert f"<code>{named}</code>" in reply and "check the stop and the prices" in reply
    async with harness.session() as session:
        assert await session.scalar(select(func.count()).select_from(Signal)) == 0


async def test_a_close_price_no_column_can_hold_is_refused_and_the_signal_can_still_close(
    harness: Harness,
) -> None:
    await give_access(harness, SUBSCRIBER)
    signal_id = await _post(harness, "/signal BTC long entry 100 sl 99.9999999 tp 101")
    await harness.send_text(ADMIN_ID, f"/update {signal_id} close 999999999999")
    assert "check the stop and the prices" in harness.last_reply(ADMIN_ID).text
    await harness.send_text(ADMIN_ID, f"/update {signal_id} close 100.5")  # on both databases
    assert "Update recorded" in harness.last_reply(ADMIN_ID).text
    async with harness.session() as session:
        row = await session.get(Signal, signal_id)
    assert row is not None and row.status == "closed"
    assert row.result_r == Decimal("5000000.0000")  # 0.5 / 0.0000001
    await harness.send_text(SUBSCRIBER, "/performance")
    assert (
        "5,000,000" in harness.last_reply(SUBSCRIBER).text
        or "5000000" in harness.last_reply(SUBSCRIBER).text
    )


@pytest.mark.parametrize(
    ("args", "problem"),
    [("tp1 " + "x" * 501, "longer than 500"), ("close 100 a\x07b", "not allowed")],
)
async def test_update_notes_are_bounded_like_signal_notes(
    harness: Harness, args: str, problem: str
) -> None:
    signal_id = await _post(harness, "/signal BTC long entry 100 sl 90 tp 110")
    before = len(await outbox(harness))
    await harness.send_text(ADMIN_ID, f"/update {signal_id} {args}")
    assert problem in harness.last_reply(ADMIN_ID).text
    assert len(await outbox(harness)) == before
    async with harness.session() as session:
        row = await session.get(Signal, signal_id)
        queued = await session.scalar(
            select(func.count()).where(OutboxMessage.kind == "signal_update")
        )
    assert row is not None and row.status == "open" and queued == 0
