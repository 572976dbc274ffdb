"""Typed aiohttp application keys: everything the routes need, set by create_web_app."""

from __future__ import annotations

from aiogram import Bot
from aiohttp import web

from bot.accounts.access_cache import AccessCache
from bot.accounts.attempt_limits import Limiter
from bot.billing.checkout import BillingService
from bot.billing.stripe_events import StripeEventProcessor
from bot.core.languages import ChosenLanguages
from bot.core.settings import Settings
from bot.outcomes.benchmark import Holdings
from bot.payments.links import PaymentLinks
from bot.premium.service import PremiumChats
from bot.stars.service import StarsService
from bot.telegram.signal_chat import SignalChat
from bot.transactions.unit_of_work import UnitOfWork
from webapp.feed_cache import FeedCache
from webapp.miniapp_auth import TokenSigner
from webapp.readiness import Readiness

SETTINGS = web.AppKey("settings", Settings)
UNIT_OF_WORK = web.AppKey("unit_of_work", UnitOfWork)
STRIPE_EVENTS = web.AppKey("stripe_events", StripeEventProcessor)
BOT = web.AppKey("bot", Bot)
BILLING = web.AppKey("billing", BillingService)
STARS = web.AppKey("stars", StarsService)
PREMIUM = web.AppKey("premium", PremiumChats)
SIGNAL_CHAT = web.AppKey("signal_chat", SignalChat)
TOKENS = web.AppKey("tokens", TokenSigner)
INITDATA_LIMITER = web.AppKey("initdata_limiter", Limiter)
# TradingView's alerts, per secret (webapp/tradingview.py).
ALERT_LIMITER = web.AppKey("alert_limiter", Limiter)
# The users' payment links and the per-user brake, shared with the chat.
PAYMENT_LINKS = web.AppKey("payment_links", PaymentLinks)
FEED_CACHE = web.AppKey("feed_cache", FeedCache)
ACCESS_CACHE = web.AppKey("access_cache", AccessCache)
# What users chose with /language, shared with the chat's middleware (one process's view).
CHOSEN_LANGUAGES = web.AppKey("chosen_languages", ChosenLanguages)
READINESS = web.AppKey("readiness", Readiness)
# Holding BTC beside the track record's portfolio: set only when PRICE_SOURCE is.
HOLDINGS = web.AppKey("holdings", Holdings)
