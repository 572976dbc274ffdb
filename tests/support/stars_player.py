"""Playing a Telegram user who pays in Stars, against the fake Bot API: open the invoice
link the bot made, let Telegram ask the bot (pre_checkout_query), and when the bot says
yes, take the Stars and deliver the successful_payment message (or lose it)."""

from __future__ import annotations

import itertools
import time
from typing import Any

from tests.support.harness import Harness

_ids = itertools.count(1)


def user(user_id: int, first_name: str = "Ann") -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": first_name}


async def invoice_link(harness: Harness, user_id: int) -> str:
    """/subscribe, and the Stars button's invoice link from the answer."""
    await harness.send_text(user_id, "/subscribe")
    rows = harness.last_reply(user_id).params["reply_markup"]["inline_keyboard"]
    [url] = [row[0]["url"] for row in rows if row[0]["url"].startswith("https://t.me/$")]
    return str(url)


async def ask(
    harness: Harness,
    payer_id: int,
    invoice: dict[str, Any],
    *,
    amount: int | None = None,
    currency: str = "XTR",
) -> dict[str, Any]:
    """The pre_checkout_query for `invoice`, as Telegram sends it; the bot's answer. The
    payer has accepted the risk disclaimer unless the harness has auto_consent off."""
    await harness.consented(payer_id)
    query_id = f"pcq{next(_ids)}"
    await harness.feed(
        {
            "pre_checkout_query": {
                "id": query_id,
                "from": user(payer_id),
                "currency": currency,
                "total_amount": invoice["amount"] if amount is None else amount,
                "invoice_payload": invoice["payload"],
            }
        }
    )
    return harness.fake_bot.stars.answers[query_id]


async def pay(
    harness: Harness, payer_id: int, link: str, *, lose_update: bool = False
) -> str | None:
    """Pay the invoice behind `link` as `payer_id`: the charge id, or None when the bot
    refused the pre-checkout (then no Stars are taken)."""
    stars = harness.fake_bot.stars
    invoice = stars.invoice(link)
    answer = await ask(harness, payer_id, invoice)
    if not answer["ok"]:
        return None
    charge_id = stars.charge(user(payer_id), invoice, first=None)
    if not lose_update:
        await harness.feed(paid_update(harness, payer_id, invoice, charge_id, first=True))
    return charge_id


async def renew(
    harness: Harness, payer_id: int, first_charge: str, *, lose_update: bool = False
) -> str:
    """Telegram charges the next 30 days of the subscription `first_charge` started."""
    stars = harness.fake_bot.stars
    sub = stars.subscriptions[first_charge]
    invoice = {"payload": sub.payload, "amount": sub.amount}
    charge_id = stars.charge(user(payer_id), invoice, first=first_charge)
    if not lose_update:
        await harness.feed(paid_update(harness, payer_id, invoice, charge_id, first=False))
    return charge_id


def paid_update(
    harness: Harness, payer_id: int, invoice: dict[str, Any], charge_id: str, *, first: bool
) -> dict[str, Any]:
    expires = harness.fake_bot.stars.expiry_of(charge_id)
    return {
        "message": {
            "message_id": next(_ids) + 10_000,
            "date": int(time.time()),
            "chat": {"id": payer_id, "type": "private", "first_name": "Ann"},
            "from": user(payer_id),
            "successful_payment": {
                "currency": "XTR",
                "total_amount": invoice["amount"],
                "invoice_payload": invoice["payload"],
                "telegram_payment_charge_id": charge_id,
                "provider_payment_charge_id": "",
                "subscription_expiration_date": expires,
                "is_recurring": True,
                "is_first_recurring": first,
            },
        }
    }
