"""Chat replies shown by the handlers (HTML parse mode)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from html import escape

from aiogram.types import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo

from bot.access import entitlement_grants_access
from bot.notices import format_date
from bot.signals.service import Performance
from bot.signals.texts import signed
from db.models import Entitlement

USER_COMMANDS: list[BotCommand] = [
    BotCommand(command="start", description="Start and see your status"),
    BotCommand(command="subscribe", description="Plans and payment links"),
    BotCommand(command="status", description="Your plan and renewal date"),
    BotCommand(command="manage", description="Billing portal: card, plan, invoices"),
    BotCommand(command="signals", description="Latest signals"),
    BotCommand(command="performance", description="Verified track record"),
    BotCommand(command="help", description="What this bot does"),
]

HELP = (
    "<b>SignalDesk</b> delivers a provider's trading signals to paying subscribers, "
    "right here in this chat, with every update (take-profit hit, stop hit, closed) "
    "threaded as a reply to the signal.\n\n"
    "/subscribe — plans and secure Stripe payment links\n"
    "/status — your plan, its state and when it renews or ends\n"
    "/manage — the Stripe billing portal: card, plan, invoices, cancellation\n"
    "/signals — the latest signals\n"
    "/performance — the provider's track record\n"
    "/help — this message"
)

ADMIN_HELP = (
    "\n\n<b>Admin</b>\n"
    "/signal SYMBOL long|short entry PRICE[-PRICE] sl PRICE tp PRICE [PRICE ...] "
    "[lev N] [tf 4h] [note text] — preview, then Send\n"
    "/update ID tp1|tp2..|sl [price] [note] · close PRICE · cancel — threaded follow-up\n"
    "/stats — subscribers, MRR, outbox\n"
    "/grant USER_ID DAYS — free access (0 takes it back)\n"
    "/broadcast text — announcement to every subscriber"
)

WELCOME = (
    "👋 Welcome, {name}!\n\n"
    "This bot sends premium trading signals the moment they are posted. "
    "Tap /subscribe to see the plans, or /help for everything it can do."
)

NOT_ADMIN = "Sorry, only the provider's admins can do that."
BUTTON_EXPIRED = "This button is no longer valid."
BILLING_OFF = (
    "Payments are not set up on this bot yet, so subscriptions cannot be bought or managed "
    "here. Please contact the provider."
)
BILLING_DOWN = "Stripe cannot be reached right now. Please try again in a minute."
NO_CUSTOMER = "You have not subscribed yet, so there is no billing to manage. Tap /subscribe."
NO_PLANS = "No plans are on offer right now. Please check back later."
CHECKOUT_CANCELLED = "Checkout was cancelled and nothing was charged. /subscribe any time."
PAID_PENDING = (
    "Thanks! Stripe is confirming your payment; you will get a message here the moment your "
    "access is active."
)
NO_SUBSCRIPTION = "You have no subscription yet. Tap /subscribe to see the plans."

STATUS_LABELS = {
    "active": "Active",
    "trialing": "Free trial",
    "past_due": "Payment overdue (Stripe is retrying your card)",
    "unpaid": "Unpaid — access paused",
    "canceled": "Cancelled",
    "incomplete": "Awaiting first payment",
    "incomplete_expired": "Expired before the first payment",
    "paused": "Paused",
}


def welcome(first_name: str) -> str:
    return WELCOME.format(name=escape(first_name or "there"))


def subscribe_intro(has_trial_days: int) -> str:
    trial = f" Every plan starts with a {has_trial_days}-day free trial." if has_trial_days else ""
    return (
        "Choose a plan. Each button opens a secure Stripe Checkout made just for you; "
        f"promotion codes are accepted.{trial}"
    )


def already_subscribed() -> str:
    return "You already have an active subscription. Use /manage to change plan or billing."


def status(entitlement: Entitlement | None, plan_name: str, now: datetime) -> str:
    """The /status answer: plan, state, and the date it renews or ends."""
    if entitlement is None:
        return NO_SUBSCRIPTION
    label = STATUS_LABELS.get(entitlement.status, entitlement.status.replace("_", " ").title())
    lines = [f"<b>Plan:</b> {escape(plan_name)}", f"<b>State:</b> {label}"]
    active = entitlement_grants_access(entitlement, now)
    if entitlement.expires_at is not None:
        when = format_date(entitlement.expires_at)
        if active and entitlement.status == "trialing":
            lines.append(f"<b>Trial ends:</b> {when}")
        elif active and not entitlement.cancel_at_period_end:
            lines.append(f"<b>Renews:</b> {when}")
        elif active:
            lines.append(f"<b>Ends:</b> {when} (cancelled, will not renew)")
        else:
            lines.append(f"<b>Ended:</b> {when}")
    lines.append(
        "Premium signals: <b>on</b>" if active else "Premium signals: <b>off</b> — /subscribe"
    )
    return "\n".join(lines)


def performance(rows: list[Performance]) -> str:
    """The /performance table: closed signals only, by closing date."""
    if all(row.count == 0 for row in rows):
        return "No closed signals yet, so there is no track record to show."
    lines = ["<b>Track record</b> (closed signals; R = multiples of the initial risk)"]
    for row in rows:
        if row.count == 0:
            lines.append(f"<b>{row.label}</b>: no closed signals")
            continue
        assert row.avg_r is not None and row.win_rate is not None
        lines.append(
            f"<b>{row.label}</b>: {row.count} signal{'' if row.count == 1 else 's'} · "
            f"win rate {row.win_rate} % · avg {signed(row.avg_r, ' R')} · "
            f"total {signed(row.total_r.quantize(Decimal('0.01')), ' R')}"
        )
    return "\n".join(lines)


def open_app_markup(public_url: str | None) -> InlineKeyboardMarkup | None:
    """An "Open app" button for the Mini App, when it has a public https URL."""
    if not public_url:
        return None
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Open app", web_app=WebAppInfo(url=f"{public_url}/app/"))]
        ]
    )
