"""Registering Telegram users and keeping their profile fields current."""

from __future__ import annotations

from typing import Protocol, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from db.engine import insert_ignoring_conflicts
from db.models import StripeCustomer, User

_USERS = cast(Table, User.__table__)  # the declarative base types it as a FromClause
_ENSURE_USER = insert_ignoring_conflicts(_USERS, _USERS.c.id)


class TelegramProfile(Protocol):
    """What a chat update's User and a Mini App's WebAppUser both carry."""

    @property
    def id(self) -> int: ...
    @property
    def username(self) -> str | None: ...
    @property
    def first_name(self) -> str: ...
    @property
    def language_code(self) -> str | None: ...


async def ensure_user(
    session: AsyncSession, tg_user: TelegramProfile, *, unblock: bool = False
) -> User:
    """Get or create the user row and refresh the names Telegram reports.

    `unblock` is passed by /start: writing to the bot again proves the user has not
    blocked it, so deliveries may resume.
    """
    user = await session.get(User, tg_user.id)
    if user is None:
        user = User(
            id=tg_user.id,
            username=tg_user.username,
            first_name=tg_user.first_name,
            language_code=tg_user.language_code,
        )
        session.add(user)
        await session.flush()
        return user
    if (user.username, user.first_name, user.language_code) != (
        tg_user.username,
        tg_user.first_name,
        tg_user.language_code,
    ):
        user.username = tg_user.username
        user.first_name = tg_user.first_name
        user.language_code = tg_user.language_code
    if unblock and user.blocked_at is not None:
        user.blocked_at = None
    await session.flush()
    return user


async def ensure_user_id(conn: AsyncConnection, user_id: int) -> None:
    """A user row for an id learnt from Stripe metadata or an admin (normally it exists).

    INSERT .. ON CONFLICT DO NOTHING, not get-then-add: a new subscriber's first events
    (checkout completed, subscription created, invoice paid) arrive together, and on
    PostgreSQL two transactions that both saw no row both inserted it (pk_users).
    """
    await conn.execute(_ENSURE_USER[conn.dialect.name], {"id": user_id, "first_name": ""})


async def customer_id_for(session: AsyncSession, user_id: int) -> str | None:
    return await session.scalar(
        select(StripeCustomer.customer_id).where(StripeCustomer.user_id == user_id)
    )
