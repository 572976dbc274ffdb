"""Telegram Stars in chat: the pre-checkout answer, the payment, stopping and resuming the
renewal, and /refund for admins (also a button in the /user timeline)."""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from aiogram import Bot, Router
from aiogram.exceptions import ClientDecodeError, TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import CallbackQuery, Message, PreCheckoutQuery

from bot.accounts.roles import Permission
from bot.audit.log import Actor
from bot.chat.middlewares.permissions import needs
from bot.core.ids import parse_user_id
from bot.core.safe_input import first_unsafe_char
from bot.stars import rules
from bot.stars.ledger import NoStarsSubscriptionError, NothingToRefundError
from bot.stars.service import StarsService
from bot.texts import Html, disclaimer, format_date, keyboards, plain, t
from bot.texts.keyboards import RefundButton, StarsButton
from bot.transactions.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)
MAX_REASON = 300
REFUND_SYNTAX = "/refund USER_ID [CHARGE_ID] [reason]"


async def on_pre_checkout(
    query: PreCheckoutQuery, bot: Bot, uow: UnitOfWork, stars: StarsService
) -> None:
    """Telegram waits at most 10 s for this answer; one read decides it.

    The last gate before Stars are taken: an invoice link made before the disclaimer was
    accepted (a link stored before consents existed, or before DISCLAIMER_TEXT changed)
    is refused until the payer accepts the current version; renewals never ask here."""
    checkout = rules.Checkout(
        payer_id=query.from_user.id,
        currency=query.currency,
        total_amount=query.total_amount,
        offer=stars.verify(query.invoice_payload),
    )
    version = disclaimer.version()
    async with uow() as session:
        refusal = await stars.pre_checkout(session, checkout, datetime.now(UTC), version)
    if refusal is None:
        await query.answer(ok=True)
        return
    await query.answer(ok=False, error_message=plain(refusal))
    if refusal == rules.Refusal.CONSENT:  # the Accept button, then the plans (fresh links)
        ask = keyboards.accept_disclaimer(version)
        try:
            await bot.send_message(checkout.payer_id, disclaimer.ask(), reply_markup=ask)
        except TelegramAPIError as error:  # the refusal said it already
            log.warning("disclaimer after a pre-checkout not sent: %s", type(error).__name__)


def _expiry(expires: int | None, now: datetime) -> datetime:
    """The paid-through date Telegram reports, or 30 days from now when it names no
    moment a datetime can hold (absent, or out of range)."""
    if expires:
        try:
            return datetime.fromtimestamp(expires, UTC)
        except (ValueError, OverflowError, OSError):
            log.warning("stars payment with an unusable subscription_expiration_date")
    return now + rules.PERIOD


async def on_stars_paid(message: Message, bot: Bot, uow: UnitOfWork, stars: StarsService) -> None:
    paid = message.successful_payment
    if paid is None or paid.currency != rules.CURRENCY or message.from_user is None:
        return
    if stars.verify(paid.invoice_payload) is None:
        # Telegram took the Stars: book them anyway (a renewal after the bot token changed
        # carries a payload signed with the old one).
        log.warning(
            "stars payment %s has a payload that is not ours", paid.telegram_payment_charge_id[:64]
        )
    now = datetime.now(UTC)
    payment = rules.Payment(
        charge_id=paid.telegram_payment_charge_id,
        user_id=message.from_user.id,
        amount=paid.total_amount,
        paid_until=_expiry(paid.subscription_expiration_date, now),
        recurring=bool(paid.is_recurring) and not paid.is_first_recurring,
    )
    problem = rules.unbookable(payment)
    if problem is not None:
        # Not something Telegram sends; retrying it would fail the same way for ever.
        log.error("stars payment not booked: %s", problem)
        return
    async with uow() as session:
        booked = await stars.record_payment(session, payment, now)
    if booked.duplicate:  # a second subscription: refunded and stopped at once
        await stars.undo_duplicate(bot, uow, payment.user_id, payment.charge_id, now)


async def cb_renewal(
    query: CallbackQuery,
    callback_data: StarsButton,
    bot: Bot,
    uow: UnitOfWork,
    stars: StarsService,
) -> None:
    renew = callback_data.action == "resume"
    try:
        row = await stars.set_renewal(
            bot, uow, query.from_user.id, renew=renew, now=datetime.now(UTC)
        )
    except NoStarsSubscriptionError as error:
        text: Html = t(error.key)
    except TelegramBadRequest:
        text = t("stars.down")
    else:
        date = format_date(row.expires_at) if row.expires_at else ""
        text = t("stars.resumed" if renew else "stars.stopped", date=date)
    await query.answer()
    await bot.send_message(query.from_user.id, text)


# A word that names a Stars charge (Telegram's are long runs of letters and digits), not
# a word of a reason: an older payment is refunded only when named like this.
_CHARGE = re.compile(r"(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{8,255}")


@dataclass(frozen=True)
class RefundArgs:
    user_id: int
    reason: str
    charge_id: str | None = None  # an older payment named by the admin


def _refund_args(args: str | None) -> RefundArgs | Html:
    """`/refund USER_ID [CHARGE_ID] [reason]`: the reply naming what is wrong otherwise."""
    parts = (args or "").strip().split(maxsplit=1)
    if not parts:
        return t("refund.usage")
    user_id = parse_user_id(parts[0])
    if user_id is None:
        return t("revoke.bad_user", value=parts[0][:32], syntax=REFUND_SYNTAX)
    rest = parts[1].split(maxsplit=1) if len(parts) > 1 else []
    charge_id = rest.pop(0) if rest and _CHARGE.fullmatch(rest[0]) else None
    reason = " ".join(" ".join(rest).split())
    if len(reason) > MAX_REASON:
        return t("revoke.long_reason", max=MAX_REASON)
    if first_unsafe_char(reason) is not None:
        return t("refund.bad_reason")
    return RefundArgs(user_id, reason, charge_id)


async def _refund(
    bot: Bot, uow: UnitOfWork, stars: StarsService, args: RefundArgs, admin_id: int
) -> Html:
    user_id = args.user_id
    try:
        done = await stars.refund(
            bot,
            uow,
            user_id,
            args.reason,
            datetime.now(UTC),
            charge_id=args.charge_id,
            actor=Actor.admin(admin_id),
        )
    except NothingToRefundError as error:
        ended = error.params["ended"]
        assert isinstance(ended, datetime)  # noqa: S101 - what ledger.refundable puts there
        return t("refund.ended", user=user_id, date=format_date(ended), syntax=REFUND_SYNTAX)
    except NoStarsSubscriptionError as error:
        return t(error.key, **error.params)
    except (TelegramAPIError, ClientDecodeError) as error:  # refused, or Telegram away
        return t("refund.failed", error=error.message)
    if not done.ended:  # an older payment, named: the access it paid for is over
        return t("refund.done_older", amount=done.amount, user=user_id, charge=done.charge_id)
    return t("refund.already" if done.already else "refund.done", amount=done.amount, user=user_id)


async def cmd_refund(
    message: Message, command: CommandObject, bot: Bot, uow: UnitOfWork, stars: StarsService
) -> None:
    parsed = _refund_args(command.args)
    if isinstance(parsed, Html):
        await message.answer(parsed)
        return
    admin_id = message.from_user.id if message.from_user else 0
    await message.answer(await _refund(bot, uow, stars, parsed, admin_id))


async def cb_refund(
    query: CallbackQuery,
    callback_data: RefundButton,
    bot: Bot,
    uow: UnitOfWork,
    stars: StarsService,
) -> None:
    args = RefundArgs(callback_data.user_id, "")
    reply = await _refund(bot, uow, stars, args, query.from_user.id)
    await query.answer()
    await bot.send_message(query.from_user.id, reply)


class _SuccessfulPayment(Filter):
    """A message carrying a successful payment. Not `F.successful_payment`: aiogram runs a
    plain (sync) filter in a thread (asyncio.to_thread), and this one sees every message
    the bot gets (bench/updates.py found it in every update's profile)."""

    async def __call__(self, message: Message) -> bool:
        return message.successful_payment is not None


def create_router() -> Router:
    """A fresh router (a Router can belong to one Dispatcher only)."""
    router = Router(name=__name__)
    router.pre_checkout_query.register(on_pre_checkout)
    router.message.register(on_stars_paid, _SuccessfulPayment())
    router.callback_query.register(cb_renewal, StarsButton.filter())
    router.message.register(cmd_refund, Command("refund"), flags=needs(Permission.REFUND))
    router.callback_query.register(
        cb_refund, RefundButton.filter(), flags=needs(Permission.REFUND)
    )
    return router
