"""The fake Bot API's paid lane (tests/support/fakes/bot_api/paid.py), through a real aiogram
Bot: paid sends have a limit of their own outside the free ones, cost 0.1 Star each from
the bot's balance, are refused when it cannot pay; getMyStarBalance reads it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from aiogram.exceptions import TelegramBadRequest, TelegramRetryAfter

from tests.flows.test_fake_bot_api import make_bot
from tests.support.fakes.bot_api import FakeBotAPI


async def test_paid_sends_skip_the_free_limits_and_have_their_own() -> None:
    async with FakeBotAPI(global_rate=2, per_chat_rate=1, paid_rate=5) as fake:
        fake.monotonic = lambda: 100.0  # one frozen second: every window is full at once
        bot = make_bot(fake)
        try:
            for chat in (1, 2):
                await bot.send_message(chat, "free")  # the free second's two...
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(3, "free")  # ...and no third
            for n in range(5):  # five paid, even to one chat: outside the free limits
                await bot.send_message(1, f"paid {n}", allow_paid_broadcast=True)
            with pytest.raises(TelegramRetryAfter):
                await bot.send_message(3, "paid", allow_paid_broadcast=True)
        finally:
            await bot.session.close()
    assert fake.paid_sent == 5 and fake.throttled == 2


async def test_each_paid_send_costs_a_tenth_and_an_empty_balance_refuses() -> None:
    async with FakeBotAPI() as fake:
        bot = make_bot(fake)
        try:
            unlimited = await bot.get_my_star_balance()
            assert unlimited.amount > 10**9  # unset: the lane is never refused
            fake.set_star_balance("0.25")  # tenths: 0.2 usable
            balance = await bot.get_my_star_balance()
            assert (balance.amount, balance.nanostar_amount) == (0, 200_000_000)
            await bot.send_message(1, "a", allow_paid_broadcast=True)
            await bot.send_message(2, "b", allow_paid_broadcast=True)
            with pytest.raises(TelegramBadRequest, match="BALANCE_TOO_LOW"):
                await bot.send_message(3, "c", allow_paid_broadcast=True)
            await bot.send_message(3, "c")  # the free rate costs nothing
        finally:
            await bot.session.close()
    assert fake.star_balance() == Decimal(0)
    assert [m.chat_id for m in fake.sent_messages()] == [1, 2, 3]
