# ruff: noqa: F811 - `stars` is a fixture imported from stars_helpers.py
"""Telegram Stars refunds, over real HTTP to the fake Bot API, on SQLite and PostgreSQL:
/refund ends access, tells the user and books it once; a charge refunded before at
Telegram; bad arguments; admins only; the timeline's button; an older payment refunded only
when named, in chat and in the admin console."""

from __future__ import annotations

import pytest

from bot.texts.keyboards import RefundButton
from tests.flows.stars_helpers import (
    ANN,
    PRICE,
    _access,
    _payments,
    _stars_row,
    stars,  # noqa: F401 - a fixture
)
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import state
from tests.support.stars_player import invoice_link, pay, renew


async def test_refund_ends_access_tells_the_user_and_books_it_once(stars: Harness) -> None:
    charge = await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, f"/refund {ANN} changed my mind")
    assert stars.last_reply(ADMIN_ID).text.startswith(f"Refunded 250 ⭐ to user {ANN}")
    [call] = stars.fake_bot.calls_for("refundStarPayment")
    assert (call["user_id"], call["telegram_payment_charge_id"]) == (ANN, charge)
    assert not await _access(stars, ANN)
    [payment] = await _payments(stars)
    assert payment.refunded_at is not None and payment.refund_reason == "changed my mind"
    await stars.deliver(wait=5)  # access started, then refunded: each a second after the last
    told = stars.last_reply(ANN).text
    assert "Your payment of 250 ⭐ has been refunded" in told and "changed my mind" in told

    await stars.send_text(ADMIN_ID, f"/refund {ANN}")  # twice: nothing left to refund
    row = await _stars_row(stars, ANN)
    assert row is not None and row.expires_at is not None
    assert stars.last_reply(ADMIN_ID).text.startswith(
        f"User {ANN} has nothing to refund: no payment's period is running, their Stars "
        f"access ended on {row.expires_at:%d %b %Y}."
    )
    assert len(stars.fake_bot.calls_for("refundStarPayment")) == 1


async def test_a_charge_refunded_before_at_telegram_is_booked_as_done(stars: Harness) -> None:
    charge = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert charge is not None
    stars.fake_bot.stars.refunded.add(charge)  # refunded by Telegram's support, say
    await stars.send_text(ADMIN_ID, f"/refund {ANN}")
    assert "was refunded before" in stars.last_reply(ADMIN_ID).text
    assert not await _access(stars, ANN)
    [payment] = await _payments(stars)
    assert payment.refunded_at is not None


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("", "Usage: <code>/refund USER_ID [CHARGE_ID] [reason]</code>"),
        ("abc", "<code>abc</code> is not a Telegram user id"),
        ("6700001 " + "x" * 301, "keep it to 300 characters"),
        ("6700009", "User 6700009 has no Telegram Stars payment to refund."),
        ("6700001 stxnotmine0001", "no Telegram Stars payment <code>stxnotmine0001</code> left"),
    ],
)
async def test_bad_refund_arguments_are_named_and_change_nothing(
    stars: Harness, args: str, reply: str
) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, "/help")
    before = await state(stars)
    await stars.send_text(ADMIN_ID, f"/refund {args}".strip())
    assert reply in stars.last_reply(ADMIN_ID).text
    assert await state(stars) == before
    assert stars.fake_bot.calls_for("refundStarPayment") == []
    assert await _access(stars, ANN)


async def test_refund_is_for_admins_only_in_chat_and_by_button(stars: Harness) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ANN, f"/refund {ANN}")
    await stars.press(ANN, RefundButton(user_id=ANN).pack())
    assert stars.fake_bot.calls_for("refundStarPayment") == []
    assert await _access(stars, ANN)


async def test_the_timeline_has_a_refund_button_that_refunds(stars: Harness) -> None:
    await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ADMIN_ID, f"/user {ANN}")
    timeline = stars.last_reply(ADMIN_ID)
    assert "• Telegram Stars: Active" in timeline.text
    button = timeline.params["reply_markup"]["inline_keyboard"][0][0]
    assert RefundButton.unpack(button["callback_data"]).user_id == ANN
    await stars.press(ADMIN_ID, button["callback_data"])
    assert stars.last_reply(ADMIN_ID).text.startswith("Refunded 250 ⭐")
    assert not await _access(stars, ANN)


async def test_a_second_refund_finds_nothing_and_never_takes_an_older_payment(
    stars: Harness,
) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    second = await renew(stars, ANN, first)  # the period `first` paid for is used
    await stars.send_text(ADMIN_ID, f"/refund {ANN}")
    assert stars.last_reply(ADMIN_ID).text.startswith(f"Refunded 250 ⭐ to user {ANN}")
    await stars.send_text(ADMIN_ID, f"/refund {ANN}")  # the second /refund
    assert "has nothing to refund" in stars.last_reply(ADMIN_ID).text
    await stars.press(ADMIN_ID, RefundButton(user_id=ANN).pack())  # or a second tap
    assert "has nothing to refund" in stars.last_reply(ADMIN_ID).text
    refunded = [
        c["telegram_payment_charge_id"] for c in stars.fake_bot.calls_for("refundStarPayment")
    ]
    assert refunded == [second]
    assert {p.charge_id: p.refunded_at is not None for p in await _payments(stars)} == {
        first: False,
        second: True,
    }


async def test_an_older_payment_is_refunded_only_when_named_and_access_goes_on(
    stars: Harness,
) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    second = await renew(stars, ANN, first)
    ends = (await _stars_row(stars, ANN)).expires_at  # type: ignore[union-attr]
    await stars.send_text(ADMIN_ID, f"/refund {ANN} {first} charged twice by mistake")
    reply = stars.last_reply(ADMIN_ID).text
    assert reply.startswith(f"Refunded 250 ⭐ to user {ANN} for the older payment")
    assert "their current access is unchanged" in reply
    [made] = stars.fake_bot.calls_for("refundStarPayment")
    assert made["telegram_payment_charge_id"] == first
    row = await _stars_row(stars, ANN)
    assert row is not None and row.expires_at == ends and await _access(stars, ANN)
    payments = {p.charge_id: p for p in await _payments(stars)}
    assert payments[first].refund_reason == "charged twice by mistake"
    assert payments[second].refunded_at is None
    await stars.deliver(wait=10)
    [told] = [m.text for m in stars.replies(ANN) if "has been refunded" in m.text]
    assert "for an earlier period has been refunded" in told and "access has ended" not in told
    await stars.send_text(ADMIN_ID, f"/refund {ANN} {first}")  # named again: done already
    assert (
        f"no Telegram Stars payment <code>{first}</code> left" in stars.last_reply(ADMIN_ID).text
    )
    assert len(stars.fake_bot.calls_for("refundStarPayment")) == 1


async def test_the_admin_console_refunds_an_older_payment_only_when_named(
    stars: Harness,
) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    second = await renew(stars, ANN, first)
    admin = await login(stars, {"id": ADMIN_ID, "first_name": "Boss"})
    path = f"/api/v1/admin/subscribers/{ANN}/refund"
    before = await state(stars)
    status, body, _ = await call(stars, "POST", path, token=admin, body={"charge_id": "stx404"})
    assert (status, body["error"]["code"]) == (409, "nothing_to_refund")
    assert await state(stars) == before and stars.fake_bot.calls_for("refundStarPayment") == []
    status, body, _ = await call(stars, "POST", path, token=admin, body={"charge_id": first})
    assert (status, body) == (200, {"amount": PRICE, "already": False, "charge_id": first})
    assert await _access(stars, ANN)  # the running period's payment is kept
    status, body, _ = await call(stars, "POST", path, token=admin, body={})
    assert (status, body["charge_id"]) == (200, second)
    assert not await _access(stars, ANN)
