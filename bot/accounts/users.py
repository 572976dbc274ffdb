"""Registering Telegram users and keeping their profile fields current."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol, cast

from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from bot.core.safe_input import strip_unsafe
from db.engine import insert_ignoring_conflicts, upsert
from db.models import StripeCustomer, User

_USERS = cast(Table, User.__table__)  # the declarative base types it as a FromClause
_ENSURE_USER = insert_ignoring_conflicts(_USERS, _USERS.c.id)
_REGISTER = upsert(
    _USERS,
    _USERS.c.id,
    update=["username", "first_name", "language_code", "blocked_at", "updated_at"],
)


# The same, answering with what each user chose with /language: the chat's middleware
# learns it in the one statement it runs anyway (bot.chat.middlewares.users).
_REGISTER_RETURNING_LANGUAGE = {
    name: statement.returning(_USERS.c.id, _USERS.c.language)
    for name, statement in _REGISTER.items()
}


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


def _row(profile: TelegramProfile) -> dict[str, object]:
    return {
        "id": profile.id,
        # Names are only shown; a control character in one must not fail a transaction.
        "username": strip_unsafe(profile.username)[:64] if profile.username else None,
        "first_name": strip_unsafe(profile.first_name or "")[:256],
        "language_code": strip_unsafe(profile.language_code)[:16]
        if profile.language_code
        else None,
        "blocked_at": None,
        "updated_at": datetime.now(UTC),
    }


async def register(session: AsyncSession, profile: TelegramProfile) -> None:
    """Create the user or refresh the names Telegram reports, in one statement.

    Also clears `blocked_at`: someone who writes to the bot (or presses its button, or
    opens its Mini App) has not blocked it, so deliveries to them may resume.
    """
    connection = await session.connection()
    await connection.execute(_REGISTER[connection.dialect.name], _row(profile))


async def register_returning_languages(
    session: AsyncSession, profiles: Iterable[TelegramProfile]
) -> dict[int, str | None]:
    """register() for each profile (one id once: PostgreSQL refuses to upsert a row twice
    in one statement), in one statement; and what each chose with /language (None: none)."""
    rows = [_row(profile) for profile in {profile.id: profile for profile in profiles}.values()]
    if not rows:
        return {}
    connection = await session.connection()
    statement = _REGISTER_RETURNING_LANGUAGE[connection.dialect.name]
    # A list of rows: SQLAlchemy sends them as one multi-row INSERT (insertmanyvalues).
    result = await connection.execute(statement, rows)
    return {row.id: row.language for row in result}


async def ensure_user(session: AsyncSession, profile: TelegramProfile) -> User:
    """register(), then the row."""
    await register(session, profile)
    user = await session.get(User, profile.id, populate_existing=True)
    assert user is not None
    return user


async def ensure_user_id(conn: AsyncConnection, user_id: int) -> None:
    """A user row for an id learnt from Stripe metadata or an admin (normally it exists).

    INSERT .. ON CONFLICT DO NOTHING, not get-then-add: a new subscriber's first events
    (checkout completed, subscription created, invoice paid) arrive together, and on
    PostgreSQL two transactions that both saw no row both inserted it (pk_users).
    """
    await conn.execute(_ENSURE_USER[conn.dialect.name], {"id": user_id, "first_name": ""})


async def ensure_user_ids(conn: AsyncConnection, user_ids: Iterable[int]) -> None:
    """ensure_user_id for several ids, in one executemany."""
    rows = [{"id": user_id, "first_name": ""} for user_id in user_ids]
    if rows:
        await conn.execute(_ENSURE_USER[conn.dialect.name], rows)


async def customer_id_for(session: AsyncSession, user_id: int) -> str | None:
    return await session.scalar(
        select(StripeCustomer.customer_id).where(StripeCustomer.user_id == user_id)
    )


async def find(session: AsyncSession, user_id: int) -> User | None:
    """The user, if they have ever written to the bot or opened the Mini App."""
    return await session.get(User, user_id)
