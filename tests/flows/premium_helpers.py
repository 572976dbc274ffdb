"""What the premium chats' tests share: the chat and three users (a subscriber, one who is
not, one on the allow-list), the `premium` fixture (a harness with that chat, the bot its
administrator), and what they read and do: a member's recorded status, the notices queued,
access ended, bans, members joined."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from db.models import Entitlement, OutboxMessage, PremiumMember
from tests.support.fakes.chats import ADMIN_RIGHTS
from tests.support.harness import Harness, MakeHarness

CHAT = -1_001_234_567_890
ANN = 6_900_001  # a subscriber
BOB = 6_900_002  # not one
CAT = 6_900_003  # on the allow-list
NOW = datetime.now(UTC)


@pytest.fixture
async def premium(make_harness: MakeHarness) -> Harness:
    harness = await make_harness(premium_chat_ids=[CHAT], premium_chat_allowlist=[CAT])
    harness.fake_bot.chats.bot_id = harness.settings.bot_id
    harness.fake_bot.chats.add_chat(CHAT, bot_rights=ADMIN_RIGHTS)
    return harness


async def _status(harness: Harness, user_id: int) -> str | None:
    async with harness.session() as session:
        row = await session.get(PremiumMember, (CHAT, user_id))
        return row.status if row is not None else None


async def _kinds(harness: Harness, user_id: int) -> list[str]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.chat_id == user_id)
        )
        return list(rows)


async def _end_access(harness: Harness, user_id: int) -> None:
    async with harness.session() as session, session.begin():
        row = await session.scalar(select(Entitlement).where(Entitlement.user_id == user_id))
        assert row is not None
        row.status, row.expires_at = "canceled", datetime.now(UTC) - timedelta(days=1)


def _bans(harness: Harness, user_id: int) -> int:
    return sum(1 for c in harness.fake_bot.calls_for("banChatMember") if c["user_id"] == user_id)


async def _members(harness: Harness, *user_ids: int) -> None:
    fake = harness.fake_bot.chats
    for user_id in user_ids:
        await harness.feed(fake.joined(CHAT, user_id))
