"""Typed aiohttp application keys: everything the routes need, set by create_web_app."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.stripe_events import StripeEventProcessor
from bot.settings import Settings

SETTINGS = web.AppKey("settings", Settings)
SESSION_FACTORY: web.AppKey[async_sessionmaker[AsyncSession]] = web.AppKey("session_factory")
STRIPE_EVENTS = web.AppKey("stripe_events", StripeEventProcessor)
