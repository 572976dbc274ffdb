"""Texts and buttons of the billing notices sent through the outbox."""

from __future__ import annotations

from datetime import datetime
from html import escape

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

# Callback data understood by bot.chat.routers.billing.
CB_PORTAL = "billing:portal"
CB_PLANS = "billing:plans"


def format_date(moment: datetime) -> str:
    return moment.strftime("%d %b %Y")


def access_started(plan_name: str, expires_at: datetime | None, trialing: bool) -> str:
    until = f" until <b>{format_date(expires_at)}</b>" if expires_at else ""
    kind = "Your free trial" if trialing else "Your subscription"
    return (
        f"✅ {kind} to <b>{escape(plan_name)}</b> is active{until}.\n"
        "New signals will arrive in this chat the moment they are posted. "
        "/status shows your plan, /manage your billing."
    )


def payment_failed(amount: str | None) -> tuple[str, InlineKeyboardMarkup]:
    what = f"Your payment of <b>{escape(amount)}</b>" if amount else "Your latest payment"
    text = (
        f"⚠️ {what} did not go through. Stripe will retry the card; to keep your access, "
        "update your payment method in the billing portal."
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Update payment method", callback_data=CB_PORTAL)]
        ]
    )
    return text, markup


def access_ended(plan_name: str) -> tuple[str, InlineKeyboardMarkup]:
    text = (
        f"Your subscription to <b>{escape(plan_name)}</b> has ended and premium signals have "
        "stopped. You can subscribe again at any time."
    )
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Subscribe", callback_data=CB_PLANS)]]
    )
    return text, markup
