"""The delivery worker the chat sends through, with its progress reporter: built here, one
way, for `python -m bot` (bot/app/) and `python -m bot worker` (bot/worker.py).

The worker process imports this module, so it stays light: no dispatcher, routers, Stripe or
web server (tests/project/test_code_shape.py checks what the worker process loads).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from aiogram import Bot
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat.progress_reports import ProgressReporter
from bot.core.clock import Clock
from bot.core.settings import Settings
from bot.delivery.config import CONCURRENCY, WorkerConfig
from bot.delivery.lanes import LaneConfig
from bot.delivery.pacing import ChatPace
from bot.delivery.turn import SendingTurn
from bot.delivery.worker import DeliveryWorker
from bot.notices.outbox import OutboxWakeup
from bot.texts.notices import NoticeRenderer

PROGRESS_EVERY = 2.0  # seconds between edits of an admin's broadcast progress message


@dataclass(frozen=True, slots=True)
class SenderOverrides:
    """What benchmarks set instead of the settings and the defaults (None: keep those)."""

    rate: float | Literal["auto"] | None = None
    concurrency: int | None = None
    lease: timedelta | None = None


def create_sender(
    settings: Settings,
    bot: Bot,
    session_factory: async_sessionmaker[AsyncSession],
    *,
    wakeup: OutboxWakeup,
    turn: SendingTurn,
    clock: Clock | None = None,
    chat_pace: ChatPace | None = None,
    overrides: SenderOverrides = SenderOverrides(),  # noqa: B008 - frozen, so shared safely
) -> tuple[ProgressReporter, DeliveryWorker]:
    """The outbox's delivery worker, rendering with the catalogue, and what reports a
    broadcast's progress as it goes (edited by whichever process holds the sending turn)."""
    progress = ProgressReporter(
        bot, session_factory, interval=PROGRESS_EVERY, default_language=settings.default_language
    )
    config = WorkerConfig(
        rate=settings.delivery_rate if overrides.rate is None else overrides.rate,
        default_language=settings.default_language,
        lanes=LaneConfig(
            mode=settings.paid_broadcast,
            daily_stars=settings.paid_broadcast_daily_stars,
            admin_ids=tuple(settings.admin_ids),
        ),
        concurrency=CONCURRENCY if overrides.concurrency is None else overrides.concurrency,
        lease=(
            timedelta(seconds=settings.delivery_lease_seconds)
            if overrides.lease is None
            else overrides.lease
        ),
    )
    worker = DeliveryWorker(
        bot,
        session_factory,
        NoticeRenderer().render,
        config,
        progress=progress,
        wakeup=wakeup,
        clock=clock,
        turn=turn,
        chat_pace=chat_pace,
    )
    return progress, worker
