"""What /subscribe (and the Subscribe and Come back buttons) answer: a link for each
configured payment rail, Stripe Checkout per plan and a Telegram Stars invoice (the user's
own, reused while valid), or the reason there is none, "please wait" included."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from aiogram import Bot
from aiogram.exceptions import TelegramAPIError
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.types import User as TelegramUser

from bot.accounts import access, consents
from bot.billing.checkout import BillingService, CheckoutLink, CheckoutRequest
from bot.core.errors import (
    AlreadySubscribedError,
    BillingNotConfiguredError,
    BillingUnavailableError,
    ConsentRequiredError,
)
from bot.lifecycle.offers import winback_offered
from bot.payments.links import PaymentLinks, PleaseWaitError
from bot.stars import invoice_links
from bot.stars.service import Invoice, StarsService
from bot.telegram.client import bot_username
from bot.texts import Html, disclaimer, keyboards, language, plain, t
from bot.texts import billing as texts
from bot.transactions.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
Reply = tuple[Html, InlineKeyboardMarkup | None]


class Offers:
    """The rails a provider offers (PAYMENT_RAILS) and the services behind them."""

    def __init__(
        self,
        rails: tuple[str, ...],
        billing: BillingService,
        stars: StarsService,
        links: PaymentLinks,
    ):
        self.rails = rails
        self._billing = billing
        self._stars = stars
        self.links = links

    async def reply(
        self, user: TelegramUser, bot: Bot, uow: UnitOfWork, *, winback: bool = False
    ) -> Reply:
        """The user's links, one button each, or why there are none; `winback`: Checkout with
        the win-back promotion code applied, if this user was offered it."""
        if not self.rails:
            return t("billing.off"), None
        stripe = "stripe" in self.rails
        try:
            async with uow.reading() as session:
                if await access.subscribed(session, user.id, datetime.now(UTC)):
                    raise AlreadySubscribedError
                # The risk disclaimer before any link: no rail starts a payment without it.
                await consents.require(session, user.id, disclaimer.version())
                customer = (
                    await self._billing.prepare_checkout(session, user.id, datetime.now(UTC))
                    if stripe
                    else None
                )
                offered = winback and await winback_offered(session, user.id)
        except AlreadySubscribedError:
            return t("billing.already_subscribed"), None
        except ConsentRequiredError as error:
            then = "winback" if winback else "plans"
            return disclaimer.ask(), keyboards.accept_disclaimer(error.version, then)
        except BillingNotConfiguredError:
            return t("billing.off"), None
        try:
            return await self._links(user, bot, customer, offered, stripe=stripe)
        except PleaseWaitError:
            return t("billing.please_wait"), None

    async def _links(
        self, user: TelegramUser, bot: Bot, customer: str | None, winback: bool, *, stripe: bool
    ) -> Reply:
        """Each rail's links (within the user's budget), or why there are none."""
        await self.links.brake(user.id)
        links, problem = (
            await self._checkout(user, bot, customer, winback) if stripe else ([], None)
        )
        stars = await self._stars_button(user, bot) if "stars" in self.rails else None
        if not links and stars is None:
            return t(problem or "stars.unavailable"), None
        buttons = [(texts.plan_label(link.plan), link.url) for link in links]
        return self._text(bool(links), stars is not None), keyboards.plans(buttons, stars)

    async def _checkout(
        self, user: TelegramUser, bot: Bot, customer: str | None, winback: bool
    ) -> tuple[list[CheckoutLink], str | None]:
        try:
            request = CheckoutRequest(user.id, customer, await bot_username(bot), language())
            links = await self._billing.checkout_links(
                self.links, request, datetime.now(UTC), winback=winback
            )
        except BillingUnavailableError:
            return [], "billing.down"
        return links, None if links else "billing.no_plans"

    async def _stars_button(self, user: TelegramUser, bot: Bot) -> InlineKeyboardButton | None:
        invoice = Invoice(plain("stars.invoice.title"), plain("stars.invoice.description"))
        try:
            url = await invoice_links.invoice_link(
                self.links, self._stars, bot, user.id, invoice, now=datetime.now(UTC)
            )
        except TelegramAPIError as error:
            log.warning("createInvoiceLink failed: %s", type(error).__name__)
            return None
        return keyboards.stars_invoice(self._stars.price or 0, url)

    def _text(self, stripe: bool, stars: bool) -> Html:
        price = self._stars.price or 0
        if not stripe:
            return t("stars.choose_only", price=price)
        text = texts.choose_plan(self._billing.trial_days)
        return Html(text + "\n\n" + t("stars.choose", price=price)) if stars else text
