"""The user's Stars invoice link, made through their payment links (bot/payments/links.py):
reused while valid, made by one request at a time."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import Bot

from bot.payments.links import Issued, PaymentLinks
from bot.stars.service import Invoice, StarsService

# A Stars invoice link names its user and price and never expires; made again daily all the
# same, so a link passed around stops being the one /subscribe shows.
STARS_LINK_LIFETIME = timedelta(hours=24)


async def invoice_link(
    links: PaymentLinks,
    stars: StarsService,
    bot: Bot,
    user_id: int,
    invoice: Invoice,
    *,
    now: datetime,
) -> str:
    """The user's Stars invoice link at today's price, made once a day at most."""
    offer = f"stars:{stars.price}"

    async def make(_offer: str) -> Issued:
        url = await stars.invoice_link(bot, user_id, invoice)
        return Issued(url, None, now + STARS_LINK_LIFETIME)

    return (await links.get(user_id, [offer], make, now))[offer]
