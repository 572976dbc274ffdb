"""OUTCOMES=confirm: what the candles show goes to the admins with a Confirm button; one
tap records it as /update would (subscribers get the threaded update), a second says it
was decided already; a signal declared by hand meanwhile is not recorded twice."""

# ruff: noqa: F811 - `exchange` is a fixture imported from outcomes_helpers.py

from __future__ import annotations

from bot.texts.keyboards import OutcomeButton
from tests.flows.outcomes_helpers import (
    LONG,
    SUBSCRIBERS,
    admin_notices,
    at,
    exchange,
    post,
    price_events,
    status,
    threaded,
    updates,
    watching,
)
from tests.support.fakes.exchange import FakeExchange
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import post_signal_update

__all__ = ["exchange"]


def _last_alert(harness: Harness) -> str:
    answers = harness.fake_bot.calls_for("answerCallbackQuery")
    return str(answers[-1]["text"])


async def _confirm_button(harness: Harness) -> str:
    """The Confirm button of the admin's latest proposal, as delivered."""
    await harness.deliver()
    message = harness.replies(ADMIN_ID)[-1]
    (row,) = message.params["reply_markup"]["inline_keyboard"]
    assert row[0]["text"] == "Confirm"
    return str(row[0]["callback_data"])


async def test_the_admins_confirm_with_one_tap_and_a_second_tap_says_already(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange, outcomes="confirm") as (harness, watcher):
        signal_id = await post(harness, LONG)
        await harness.deliver()
        exchange.candle("BTCUSDT", at(1), (65500, 65600, 64900, 65200))  # filled
        exchange.candle("BTCUSDT", at(2), (65200, 67100, 65100, 66800))  # tp1
        assert "1 proposed, 1 fills" in await watcher.run(at(3))
        assert await updates(harness, signal_id) == []  # nothing until an admin says so
        (notice,) = await admin_notices(harness, "outcome_proposed")
        assert notice.params["kind"] == "tp1" and notice.params["price"] == "67000"
        button = await _confirm_button(harness)
        text = harness.replies(ADMIN_ID)[-1].text
        assert f"#{signal_id} BTCUSDT" in text and "take-profit 1 reached at 67000" in text
        assert OutcomeButton.unpack(button).event_id == notice.params["event"]

        # The same candles read again propose nothing more.
        await watcher.run(at(3.5))
        assert len(await admin_notices(harness, "outcome_proposed")) == 1

        await harness.press(ADMIN_ID, button)
        assert _last_alert(harness).startswith("Recorded")
        assert await updates(harness, signal_id) == [("tp1", "67000", "prices")]
        await harness.deliver(wait=3)
        for chat in SUBSCRIBERS:
            (follow_up,) = threaded(harness, chat)
            assert "TP1" in follow_up

        await harness.press(ADMIN_ID, button)  # again: nothing more
        assert _last_alert(harness).startswith("Already decided")
        assert await updates(harness, signal_id) == [("tp1", "67000", "prices")]
        await harness.deliver(wait=3)
        assert all(len(threaded(harness, chat)) == 1 for chat in SUBSCRIBERS)


async def test_an_outcome_declared_by_hand_first_is_not_recorded_again(
    make_harness: MakeHarness, exchange: FakeExchange
) -> None:
    async with watching(make_harness, exchange, outcomes="confirm") as (harness, watcher):
        signal_id = await post(harness, LONG)
        exchange.candle("BTCUSDT", at(1), (65500, 65600, 64900, 65200))  # filled
        exchange.candle("BTCUSDT", at(2), (65200, 65300, 63000, 63200))  # the stop
        await watcher.run(at(3))
        button = await _confirm_button(harness)
        await post_signal_update(harness, signal_id, "close 64000")  # the admin was faster
        await harness.press(ADMIN_ID, button)
        assert _last_alert(harness).startswith("Not recorded")
        assert await updates(harness, signal_id) == [("close", "64000", "admin")]
        assert await status(harness, signal_id) == "closed"
        assert [e[2] for e in await price_events(harness, signal_id)] == [True, True]
        await harness.press(ADMIN_ID, button)
        assert _last_alert(harness).startswith("Already decided")


async def test_only_admins_may_confirm(make_harness: MakeHarness, exchange: FakeExchange) -> None:
    async with watching(make_harness, exchange, outcomes="confirm") as (harness, watcher):
        signal_id = await post(harness, LONG)
        exchange.candle("BTCUSDT", at(1), (65500, 67600, 64900, 65200))  # filled
        exchange.candle("BTCUSDT", at(2), (65200, 65300, 63000, 63200))  # the stop
        await watcher.run(at(3))
        button = await _confirm_button(harness)
        await harness.press(SUBSCRIBERS[0], button)
        assert "only the provider's admins" in _last_alert(harness)
        assert await updates(harness, signal_id) == []
