"""aiogram routers, one per feature, gathered in the order the Dispatcher tries them."""

from aiogram import Router

from bot.chat.routers import (
    admin,
    billing,
    consents,
    data_rights,
    fallback,
    help,
    language,
    outcomes,
    premium,
    settings,
    signals,
    stars,
    start,
    subscribers,
    support,
)


def get_routers() -> list[Router]:
    # A message walks the routers in this order until a handler takes it, and each router
    # it passes costs a few tens of microseconds (its filters, aiogram's wrapping), so
    # what subscribers send most comes first. Every message handler but the payment's is
    # a distinct command, so the order decides nothing else; start first all the same
    # (/start with a payload must win over anything), and the catch-all fallback (buttons
    # nobody else understood) last.
    return [
        start.create_router(),
        help.create_router(),
        billing.create_router(),
        # A successful_payment has no text: no command handler takes it before this one.
        stars.create_router(),
        premium.create_router(),
        support.create_router(),
        settings.create_router(),
        language.create_router(),
        signals.create_router(),
        admin.create_router(),
        outcomes.create_router(),
        subscribers.create_router(),
        consents.create_router(),
        data_rights.create_router(),
        fallback.create_router(),
    ]
