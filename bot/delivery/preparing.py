"""A claimed batch made ready to send, in the claim's transaction: who may still receive
each row (premium kinds need access; preferences may mute signals or updates), what waits
its chat's turn, and each row's words in its recipient's language as of the send. Rows
skipped, deferred or impossible to render are recorded here; the rest are returned."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime

from aiogram.types import InlineKeyboardMarkup
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import access, preferences
from bot.core import languages
from bot.delivery import claims
from bot.delivery import outcomes as writes
from bot.delivery.claims import Claim
from bot.delivery.plan import PREMIUM_KINDS, Send, plan_batch
from db.models import OutboxMessage

log = logging.getLogger(__name__)

# An outbox row's words and buttons in a language; the composition root passes the chat's
# renderer.
Render = Callable[[OutboxMessage, str], tuple[str, InlineKeyboardMarkup | None]]


async def prepare(
    session: AsyncSession,
    claim: Claim,
    *,
    render: Render,
    last_sent: Mapping[int, float],
    default_language: str,
    now: datetime,
    clock: float,
) -> list[Send]:
    """The claim's sends due now, rendered; records what is skipped, deferred or failed."""
    premium = [row.chat_id for row in claim.rows if row.kind in PREMIUM_KINDS]
    allowed = await access.with_access(session, premium, now) if premium else set()
    chosen = await preferences.of_many(session, allowed)
    plan = plan_batch(
        claim.rows,
        allowed=allowed,
        originals=await claims.originals(session, claim.rows),
        last_sent=last_sent,
        clock=clock,
        now=now,
        prefs={chat: (p.signals, p.updates) for chat, p in chosen.items()},
    )
    spoken = await languages.of_many(
        session, (send.row.chat_id for send in plan.sends), default_language
    )
    sends, unrenderable = rendered(plan.sends, spoken, render, default_language)
    recorded = [w for i, why in plan.skipped.items() for w in writes.skipped(i, why)]
    for row_id, (when, why) in plan.later.items():
        recorded += writes.deferred(row_id, claim.lease_until, when, why)
    for row, why in unrenderable:
        recorded += writes.failed(row.id, attempts=row.attempts + 1, error=why)
    if recorded:
        await writes.execute(await session.connection(), recorded)
    return sends


def rendered(
    sends: list[Send], spoken: dict[int, str], render: Render, default_language: str
) -> tuple[list[Send], list[tuple[OutboxMessage, str]]]:
    """Each send with its words in its recipient's language (`spoken`: those not on the
    default); rows that cannot be rendered fail with the reason."""
    ready: list[Send] = []
    failed: list[tuple[OutboxMessage, str]] = []
    for send in sends:
        language = spoken.get(send.row.chat_id, default_language)
        try:
            text, markup = render(send.row, language)
        except (KeyError, TypeError, ValueError) as error:
            log.error("outbox row %s (%s) cannot be rendered", send.row.id, send.row.kind)
            failed.append((send.row, f"cannot be rendered: {type(error).__name__}"))
            continue
        ready.append(replace(send, text=text, markup=markup))
    return ready, failed
