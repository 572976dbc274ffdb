# ruff: noqa: F811 - `stars` is a fixture imported from stars_helpers.py
"""Telegram Stars renewals, over real HTTP to the fake Bot API, on SQLite and PostgreSQL:
a renewal extends access and keeps the subscription; the renewal stopped and resumed from
/manage, and stop with no Stars subscription."""

from __future__ import annotations

from datetime import timedelta

from bot.texts.keyboards import StarsButton
from tests.flows.stars_helpers import (
    ANN,
    _access,
    _payments,
    _stars_row,
    stars,  # noqa: F401 - a fixture
)
from tests.support.harness import Harness
from tests.support.stars_player import invoice_link, pay, renew


async def test_a_renewal_extends_access_and_keeps_the_subscription(stars: Harness) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    assert first is not None
    ends = (await _stars_row(stars, ANN)).expires_at  # type: ignore[union-attr]
    second = await renew(stars, ANN, first)
    row = await _stars_row(stars, ANN)
    assert row is not None and row.source_ref == first  # what editUserStarSubscription names
    assert ends is not None and row.expires_at == ends + timedelta(days=30)
    payments = await _payments(stars)
    assert [(p.charge_id, p.recurring, p.subscription_ref) for p in payments] == [
        (first, False, first),
        (second, True, first),
    ]
    await stars.deliver(wait=5)  # two notices to ANN, each a second after the one before
    assert "Your Telegram Stars subscription is renewed until" in stars.last_reply(ANN).text


async def test_stop_and_resume_the_renewal_from_manage(stars: Harness) -> None:
    first = await pay(stars, ANN, await invoice_link(stars, ANN))
    await stars.send_text(ANN, "/manage")
    manage = stars.last_reply(ANN)
    assert "renews on" in manage.text
    button = manage.params["reply_markup"]["inline_keyboard"][0][0]
    assert StarsButton.unpack(button["callback_data"]).action == "stop"

    await stars.press(ANN, button["callback_data"])
    [call] = stars.fake_bot.calls_for("editUserStarSubscription")
    assert (call["telegram_payment_charge_id"], call["is_canceled"]) == (first, True)
    assert "Renewal stopped. Your access runs until" in stars.last_reply(ANN).text
    row = await _stars_row(stars, ANN)
    assert row is not None and row.cancel_at_period_end and await _access(stars, ANN)

    await stars.send_text(ANN, "/manage")
    assert "will not renew" in stars.last_reply(ANN).text
    await stars.press(ANN, StarsButton(action="resume").pack())
    assert stars.fake_bot.calls_for("editUserStarSubscription")[-1]["is_canceled"] is False
    row = await _stars_row(stars, ANN)
    assert row is not None and not row.cancel_at_period_end


async def test_stop_without_a_stars_subscription_says_so_and_calls_nobody(stars: Harness) -> None:
    await stars.press(ANN, StarsButton(action="stop").pack())
    assert stars.last_reply(ANN).text == "You have no Telegram Stars subscription running."
    assert stars.fake_bot.calls_for("editUserStarSubscription") == []
