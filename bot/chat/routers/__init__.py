"""aiogram routers, one per feature, gathered in the order the Dispatcher tries them."""

from aiogram import Router

from bot.chat.routers import (
    admin,
    billing,
    fallback,
    help,
    language,
    premium,
    settings,
    signals,
    stars,
    start,
    subscribers,
    support,
)


def get_routers() -> list[Router]:
    # start first: /start with a payload must win over anything else; the catch-all
    # fallback (buttons nobody else understood) last.
    return [
        start.create_router(),
        # Payments before anything that reads messages: a successful_payment has no text.
        stars.create_router(),
        premium.create_router(),
        help.create_router(),
        support.create_router(),
        billing.create_router(),
        settings.create_router(),
        language.create_router(),
        signals.create_router(),
        admin.create_router(),
        subscribers.create_router(),
        fallback.create_router(),
    ]
