"""What a user was offered by the lifecycle jobs, for the buttons that redeem it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from db.models import LifecycleNotice


async def winback_offered(session: AsyncSession, user_id: int) -> bool:
    """Whether the win-back job made this user an offer. Callback data comes from the
    client, so the Come back button's discount is given only to whom the bot offered it."""
    offer = await session.scalar(
        select(LifecycleNotice.id)
        .where(LifecycleNotice.user_id == user_id, LifecycleNotice.event.like("winback:%"))
        .limit(1)
    )
    return offer is not None
