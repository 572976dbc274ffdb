"""What the clock-jump tests share: a premium chat (the `premium` fixture: a harness with it,
the bot its administrator), a day in seconds, and what they read: the notices queued for a
chat, and the actions held (with when each was confirmed)."""

from __future__ import annotations

from datetime import datetime

import pytest
from sqlalchemy import select

from db.models import HeldAction, OutboxMessage
from tests.support.fakes.chats import ADMIN_RIGHTS
from tests.support.harness import Harness, MakeHarness

CHAT = -1_001_234_567_891
DAY = 86_400.0


@pytest.fixture
async def premium(make_harness: MakeHarness) -> Harness:
    harness = await make_harness(premium_chat_ids=[CHAT])
    harness.fake_bot.chats.bot_id = harness.settings.bot_id
    harness.fake_bot.chats.add_chat(CHAT, bot_rights=ADMIN_RIGHTS)
    return harness


async def _kinds(harness: Harness, chat_id: int) -> list[str]:
    async with harness.session() as session:
        rows = await session.scalars(
            select(OutboxMessage.kind).where(OutboxMessage.chat_id == chat_id)
        )
        return list(rows)


async def _holds(harness: Harness) -> dict[str, datetime | None]:
    async with harness.session() as session:
        rows = await session.execute(select(HeldAction.name, HeldAction.confirmed_at))
        return {name: confirmed for name, confirmed in rows}
