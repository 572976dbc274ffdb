"""Telegram Stars in the fake Bot API: invoice links, pre-checkout answers, subscriptions,
refunds and the bot's transaction list, with the checks and error shapes of the real API
(https://core.telegram.org/bots/api#payments), plus a way to play a user paying."""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any

SUBSCRIPTION_PERIOD = 2_592_000
MAX_SUBSCRIPTION_PRICE = 10_000
_ids = itertools.count(1)


class FakeBadRequest(Exception):
    """A 400 answer: the description after "Bad Request: "."""


def _listed(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


@dataclass
class StarSubscription:
    user_id: int
    payload: str
    amount: int
    first_charge: str
    expires: int
    canceled_by_bot: bool = False


@dataclass
class StarsLedger:
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    transactions: list[dict[str, Any]] = field(default_factory=list)
    subscriptions: dict[str, StarSubscription] = field(default_factory=dict)
    refunded: set[str] = field(default_factory=set)
    _charges: dict[str, StarSubscription] = field(default_factory=dict)

    def handlers(self) -> dict[str, Any]:
        return {
            "createinvoicelink": self._create_invoice_link,
            "answerprecheckoutquery": self._answer_pre_checkout,
            "edituserstarsubscription": self._edit_subscription,
            "refundstarpayment": self._refund,
            "getstartransactions": self._transactions,
        }

    # -- the Bot API methods ---------------------------------------------------------------

    def _create_invoice_link(self, _token: str, p: dict[str, Any]) -> str:
        for name, limit in (("title", 32), ("description", 255)):
            if not 1 <= len(str(p.get(name) or "")) <= limit:
                raise FakeBadRequest(f"{name.upper()}_INVALID")
        payload = str(p.get("payload") or "")
        if not 1 <= len(payload.encode()) <= 128:  # noqa: PLR2004 - Telegram's limit
            raise FakeBadRequest("PAYLOAD_INVALID")
        prices = _listed(p.get("prices"))
        if p.get("currency") == "XTR":
            if p.get("provider_token"):
                raise FakeBadRequest("PROVIDER_TOKEN_INVALID")  # Stars take none
            if not isinstance(prices, list) or len(prices) != 1:
                raise FakeBadRequest("invoice with Stars must have exactly one price")
        period = p.get("subscription_period")
        if period is not None:
            if int(period) != SUBSCRIPTION_PERIOD:
                raise FakeBadRequest("SUBSCRIPTION_PERIOD_INVALID")
            if p.get("currency") != "XTR" or int(prices[0]["amount"]) > MAX_SUBSCRIPTION_PRICE:
                raise FakeBadRequest("SUBSCRIPTION_INVALID")
        slug = f"fake{next(_ids)}"
        self.invoices[slug] = {**p, "prices": prices, "amount": int(prices[0]["amount"])}
        return f"https://t.me/${slug}"

    def _answer_pre_checkout(self, _token: str, p: dict[str, Any]) -> bool:
        ok = p.get("ok") in (True, "true", "True")
        if not ok and not p.get("error_message"):
            raise FakeBadRequest("ERROR_MESSAGE_EMPTY")
        self.answers[str(p.get("pre_checkout_query_id"))] = {
            "ok": ok,
            "error_message": p.get("error_message"),
            "at": time.monotonic(),
        }
        return True

    def _edit_subscription(self, _token: str, p: dict[str, Any]) -> bool:
        sub = self._charges.get(str(p.get("telegram_payment_charge_id")))
        if sub is None or sub.user_id != int(p["user_id"]):
            raise FakeBadRequest("CHARGE_ID_INVALID")
        sub.canceled_by_bot = p.get("is_canceled") in (True, "true", "True")
        return True

    def _refund(self, _token: str, p: dict[str, Any]) -> bool:
        charge = str(p.get("telegram_payment_charge_id"))
        original = next(
            (t for t in self.transactions if t["id"] == charge and "source" in t), None
        )
        if original is None or original["source"]["user"]["id"] != int(p["user_id"]):
            raise FakeBadRequest("CHARGE_NOT_FOUND")
        if charge in self.refunded:
            raise FakeBadRequest("CHARGE_ALREADY_REFUNDED")
        self.refunded.add(charge)
        self.transactions.append(
            {
                "id": charge,
                "amount": original["amount"],
                "date": int(time.time()),
                # A refund: the same id as the payment, the user now the receiver.
                "receiver": {**original["source"]},
            }
        )
        return True

    def _transactions(self, _token: str, p: dict[str, Any]) -> dict[str, Any]:
        offset = int(p.get("offset") or 0)
        limit = int(p.get("limit") or 100)
        if not 1 <= limit <= 100:  # noqa: PLR2004 - Telegram's bounds
            raise FakeBadRequest("LIMIT_INVALID")
        return {"transactions": self.transactions[offset : offset + limit]}

    # -- playing a user ----------------------------------------------------------------------

    def expiry_of(self, charge_id: str) -> int:
        """The subscription_expiration_date Telegram reports with this charge."""
        return self._charges[charge_id].expires

    def invoice(self, link: str) -> dict[str, Any]:
        return self.invoices[link.rsplit("$", 1)[1]]

    def charge(self, user: dict[str, Any], invoice: dict[str, Any], *, first: str | None) -> str:
        """Take the Stars: a transaction, and the subscription it starts or renews."""
        charge_id = f"stxfake{next(_ids):08d}"
        now = int(time.time())
        if first is None:
            sub = StarSubscription(
                user["id"], invoice["payload"], invoice["amount"], charge_id, now
            )
            self.subscriptions[charge_id] = sub
        else:
            sub = self.subscriptions[first]
            now = max(sub.expires, now)  # Telegram charges a renewal when the period ends
        sub.expires = now + SUBSCRIPTION_PERIOD
        self._charges[charge_id] = sub
        self.transactions.append(
            {
                "id": charge_id,
                "amount": invoice["amount"],
                "date": now,
                "source": {
                    "type": "user",
                    "transaction_type": "invoice_payment",
                    "user": user,
                    "invoice_payload": invoice["payload"],
                    "subscription_period": SUBSCRIPTION_PERIOD,
                },
            }
        )
        return charge_id
