"""Every button the bot shows, and the callback data its buttons carry.

On the texts floor, beside the words: a button is a label from the catalogue and where it
leads. The outbox's notices (bot/texts/notices.py) and the chat adapter both build them,
and the chat adapter's handlers filter on the same CallbackData factories.

Callback data through aiogram's CallbackData factories: packed and parsed in one place,
validated on the way in (a signal id that cannot be one of ours matches no handler, and
the fallback router answers that the button is no longer valid).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from pydantic import Field

from bot.core.ids import MAX_ROW_ID, MAX_TELEGRAM_USER_ID
from bot.texts import plain, plain_n


class SignalButton(CallbackData, prefix="sig"):
    """Send, Send at the free rate, or Cancel under a signal's preview: `sig:send:17`
    (fast, when PAID_BROADCAST covers signals), `sig:free:17`, `sig:discard:17`."""

    action: Literal["send", "free", "discard"]
    signal_id: Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class BillingButton(CallbackData, prefix="billing"):
    """`billing:plans` (the plans with fresh Checkout links), `billing:portal`,
    `billing:winback` (the plans with WINBACK_PROMO_CODE applied, for a user offered it)."""

    action: Literal["plans", "portal", "winback"]


class StarsButton(CallbackData, prefix="stars"):
    """`stars:stop` and `stars:resume`: the renewal of the user's own Stars subscription."""

    action: Literal["stop", "resume"]


class PreferenceButton(CallbackData, prefix="pref"):
    """`pref:updates:silent`: one of /settings' choices (bot/accounts/preferences.py checks it)."""

    what: Literal["signals", "updates"]
    choice: Literal["on", "silent", "off"]


class LanguageButton(CallbackData, prefix="lang"):
    """`lang:pt_BR`: /language's choice (bot/core/languages.py lists what is offered)."""

    language: Literal["en", "ru", "es", "pt_BR"]


class RefundButton(CallbackData, prefix="refund"):
    """`refund:42`: an admin refunds user 42's latest Stars payment (the /user timeline)."""

    user_id: Annotated[int, Field(ge=1, le=MAX_TELEGRAM_USER_ID)]


class MassActionButton(CallbackData, prefix="mass"):
    """`mass:expiry`: an admin confirms a mass action a job held (bot/lifecycle/brake.py)."""

    action: Literal["premium-removals", "expiry"]
    held: int = 0  # the hold's time in whole seconds (0: a report from before it said)


class OutcomeButton(CallbackData, prefix="outcome"):
    """`outcome:42`: an admin confirms price event 42, an outcome the exchange's prices
    showed (bot/outcomes/decisions.py records it, once)."""

    event_id: Annotated[int, Field(ge=1, le=MAX_ROW_ID)]


class ConsentButton(CallbackData, prefix="consent"):
    """`consent:0123456789ab:plans`: the user accepts that version of the risk disclaimer,
    then sees the plans (`winback`: with the win-back code). A version that is not the
    current one records nothing (bot/accounts/consents.py)."""

    version: Annotated[str, Field(pattern=r"^[0-9a-f]{12}$")]
    then: Literal["plans", "winback"] = "plans"


class DataButton(CallbackData, prefix="data"):
    """`data:erase:42` and `data:keep:42`: /deletedata's Erase and Cancel, for user 42 only
    (another user's tap on them is refused)."""

    action: Literal["erase", "keep"]
    user_id: Annotated[int, Field(ge=1, le=MAX_TELEGRAM_USER_ID)]


def accept_disclaimer(version: str, then: str = "plans") -> InlineKeyboardMarkup:
    data = ConsentButton(version=version, then="winback" if then == "winback" else "plans")
    return _one(InlineKeyboardButton(text=plain("consent.accept"), callback_data=data.pack()))


def confirm_erase(user_id: int) -> InlineKeyboardMarkup:
    erase = DataButton(action="erase", user_id=user_id).pack()
    keep = DataButton(action="keep", user_id=user_id).pack()
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=plain("data.erase.confirm"), callback_data=erase)],
            [InlineKeyboardButton(text=plain("data.erase.cancel"), callback_data=keep)],
        ]
    )


def _one(button: InlineKeyboardButton) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[button]])


def subscribe() -> InlineKeyboardMarkup:
    return _one(
        InlineKeyboardButton(
            text=plain("button.subscribe"), callback_data=BillingButton(action="plans").pack()
        )
    )


def confirm_mass_action(action: str, held_at: int = 0) -> InlineKeyboardMarkup | None:
    """The button under a held mass action's report; none for an action no longer known."""
    if action not in ("premium-removals", "expiry"):
        return None
    data = MassActionButton(action=action, held=held_at)
    return _one(InlineKeyboardButton(text=plain("button.mass_confirm"), callback_data=data.pack()))


def confirm_outcome(event_id: int) -> InlineKeyboardMarkup:
    """The Confirm button under an outcome the exchange's prices showed."""
    data = OutcomeButton(event_id=event_id).pack()
    return _one(InlineKeyboardButton(text=plain("button.outcome_confirm"), callback_data=data))


def winback() -> InlineKeyboardMarkup:
    return _one(
        InlineKeyboardButton(
            text=plain("button.winback"), callback_data=BillingButton(action="winback").pack()
        )
    )


def update_payment() -> InlineKeyboardMarkup:
    return _one(
        InlineKeyboardButton(
            text=plain("button.update_payment"),
            callback_data=BillingButton(action="portal").pack(),
        )
    )


def manage_billing() -> InlineKeyboardMarkup:
    return _one(
        InlineKeyboardButton(
            text=plain("button.portal"), callback_data=BillingButton(action="portal").pack()
        )
    )


def stars_invoice(price: int, url: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=plain("button.stars", price=price), url=url)


def stars_renewal(renewing: bool) -> InlineKeyboardMarkup:
    action: Literal["stop", "resume"] = "stop" if renewing else "resume"
    label = "button.stars_stop" if renewing else "button.stars_resume"
    return _one(
        InlineKeyboardButton(text=plain(label), callback_data=StarsButton(action=action).pack())
    )


def refund(user_id: int) -> InlineKeyboardMarkup:
    return _one(
        InlineKeyboardButton(
            text=plain("button.refund"), callback_data=RefundButton(user_id=user_id).pack()
        )
    )


def join_links(urls: list[str]) -> InlineKeyboardMarkup:
    """One button per premium chat, each a personal join-request link."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=plain("button.join", number=n), url=url)]
            for n, url in enumerate(urls, start=1)
        ]
    )


def renew_in_portal() -> InlineKeyboardMarkup:
    return _one(
        InlineKeyboardButton(
            text=plain("button.renew_in_portal"),
            callback_data=BillingButton(action="portal").pack(),
        )
    )


def portal(url: str) -> InlineKeyboardMarkup:
    return _one(InlineKeyboardButton(text=plain("button.portal"), url=url))


def plans(
    links: list[tuple[str, str]], stars: InlineKeyboardButton | None = None
) -> InlineKeyboardMarkup:
    """One URL button per plan: (label, Checkout URL), and the Stars invoice's, if any."""
    rows = [[InlineKeyboardButton(text=label, url=url)] for label, url in links]
    if stars is not None:
        rows.append([stars])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def open_app(public_url: str | None) -> InlineKeyboardMarkup | None:
    """An "Open app" button for the Mini App, when it has a public https URL."""
    if not public_url:
        return None
    return _one(
        InlineKeyboardButton(
            text=plain("button.open_app"), web_app=WebAppInfo(url=f"{public_url}/app/")
        )
    )


def signal_preview(
    signal_id: int, recipients: int, fast_stars: Decimal | None = None
) -> InlineKeyboardMarkup:
    """Send and Cancel; with `fast_stars` (the paid lane's price), Send fast and Send at
    the free rate."""
    send = SignalButton(action="send", signal_id=signal_id).pack()
    discard = SignalButton(action="discard", signal_id=signal_id).pack()
    cancel = InlineKeyboardButton(text=plain("button.cancel"), callback_data=discard)
    if fast_stars is None:
        label = plain_n("button.send_signal", recipients)
        return InlineKeyboardMarkup(
            inline_keyboard=[[InlineKeyboardButton(text=label, callback_data=send), cancel]]
        )
    free = SignalButton(action="free", signal_id=signal_id).pack()
    fast = plain("button.send_fast", stars=fast_stars)
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=fast, callback_data=send)],
            [InlineKeyboardButton(text=plain("button.send_free"), callback_data=free), cancel],
        ]
    )


def subscribe_link(url: str) -> InlineKeyboardMarkup:
    """Subscribe as a link to the bot (t.me/<bot>?start=...): where a button's press would
    reach no private chat, as under a post in the signal channel."""
    return _one(InlineKeyboardButton(text=plain("button.subscribe"), url=url))
