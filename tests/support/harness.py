"""The suite's fixtures: the fake Telegram and Stripe servers, and a harness running the real
application against them (and its databases: databases.py; no secret in any log:
log_secrets.py). A pytest plugin, registered by tests/conftest.py in every process that runs
tests, as are the two modules beside it that hold fixtures."""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import os
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiogram.types import Update
from aiohttp import web
from hypothesis import settings as hypothesis_settings
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts import consents
from bot.app import Components, build
from bot.core.settings import Settings, load_settings
from bot.delivery.config import WorkerConfig
from bot.delivery.worker import DeliveryWorker
from bot.texts import disclaimer
from bot.texts.notices import NoticeRenderer
from db.engine import create_engine
from db.models import OutboxMessage
from tests.support.connection_guard import ConnectionGuard
from tests.support.constants import (  # noqa: F401 - FIXTURES, load_fixture: imported from here
    ADMIN_ID,
    BOT_TOKEN,
    FIXTURES,
    PRICE_MONTHLY,
    PRICE_YEARLY,
    STRIPE_KEY,
    WEBHOOK_SECRET,
    load_fixture,
)
from tests.support.databases import empty_postgres, worker_suffix  # noqa: F401 - imported from here
from tests.support.fake_clock import SkippingClock
from tests.support.fakes.bot_api import FakeBotAPI, SentMessage
from tests.support.fakes.stripe_api import FakeStripe, sign_payload
from tests.support.log_secrets import leaked_secrets  # noqa: F401 - imported from here
from tests.support.processes import PRICE as PROCESS_PRICE
from tests.support.processes import TOKEN as PROCESS_TOKEN
from tests.support.processes import base_env, run_cli, sqlite_url
from webapp.app import HTTP_IDLE_TIMEOUT, create_runner

# Every harness builds a Bot (aiogram's session) and a Stripe client, and each parses the CA
# bundle into a new SSLContext: ~8 ms of CPU apiece, a third of building a harness and ~15 s
# of the suite. Neither library changes the context it gets, so a test process shares one
# per set of arguments (the tests speak plain HTTP to the fakes anyway).
ssl.create_default_context = functools.cache(ssl.create_default_context)  # type: ignore[assignment]

# Property tests: `make test` tries 100 examples each (hypothesis's default, seeded afresh
# every run, so runs explore different inputs); HYPOTHESIS_PROFILE=thorough tries 2,000.
hypothesis_settings.register_profile("default", max_examples=100)
hypothesis_settings.register_profile("thorough", max_examples=2000)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests marked `waits` first (stable otherwise; every xdist worker orders alike): their
    waits then overlap the CPU-bound rest of the suite instead of ending it on idle cores."""
    items.sort(key=lambda item: item.get_closest_marker("waits") is None)


# The harness's fixtures are context managers too, so a suite whose tests share one event
# loop (the browser suites: one Chromium per module) can declare the same fixtures on it.


@contextlib.asynccontextmanager
async def running_fake_bot() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI(timeout_delay=2.0) as fake:
        yield fake


@contextlib.asynccontextmanager
async def running_fake_stripe() -> AsyncIterator[FakeStripe]:
    async with FakeStripe() as fake:
        fake.add_price(PRICE_MONTHLY, product_name="Pro Signals", unit_amount=4900)
        fake.add_price(
            PRICE_YEARLY, product_name="Pro Signals Yearly", unit_amount=49000, interval="year"
        )
        yield fake


@pytest.fixture
async def fake_bot() -> AsyncIterator[FakeBotAPI]:
    async with running_fake_bot() as fake:
        yield fake


@pytest.fixture
async def fake_stripe() -> AsyncIterator[FakeStripe]:
    async with running_fake_stripe() as fake:
        yield fake


_ids = itertools.count(1)
# The buttons that start a payment (bot/chat/rail_offers.py asks for the disclaimer first).
PAYMENT_BUTTONS = frozenset({"billing:plans", "billing:winback"})


@dataclass
class Harness:
    """The real application (dispatcher, services, web server) wired to the fakes."""

    parts: Components
    fake_bot: FakeBotAPI
    fake_stripe: FakeStripe
    base_url: str
    http: aiohttp.ClientSession
    _runner: web.AppRunner = field(repr=False)
    guard: ConnectionGuard = field(repr=False, default_factory=ConnectionGuard)
    clock: SkippingClock = field(repr=False, default_factory=SkippingClock)
    # A user the harness starts a payment for (/subscribe, the plans' buttons, the Mini
    # App's payment routes) has accepted the risk disclaimer first, as they would; tests of
    # the consent itself build with auto_consent=False (tests/flows/test_consents.py).
    auto_consent: bool = True
    _consented: set[int] = field(repr=False, default_factory=set)
    # Mini App bearer tokens and whose they are (tests/support/api_client.py).
    logins: dict[str, int] = field(repr=False, default_factory=dict)

    @property
    def settings(self) -> Settings:
        return self.parts.settings

    def session(self) -> AsyncSession:
        return self.parts.session_factory()

    async def accept_disclaimer(self, user_id: int) -> None:
        """The user taps Accept under the current disclaimer (the real service records it)."""
        version = disclaimer.version()
        async with self.session() as session, session.begin():
            await consents.accept(session, user_id, version, version, datetime.now(UTC))
        self._consented.add(user_id)

    async def consented(self, user_id: int) -> None:
        if self.auto_consent and user_id not in self._consented:
            await self.accept_disclaimer(user_id)

    async def feed(self, update: dict[str, Any]) -> None:
        """Push one update through the real Dispatcher, routers and middlewares."""
        update.setdefault("update_id", next(_ids))
        await self.parts.dispatcher.feed_update(self.parts.bot, Update.model_validate(update))

    async def send_text(
        self,
        user_id: int,
        text: str,
        *,
        first_name: str = "Ann",
        username: str | None = None,
        language_code: str | None = None,
    ) -> None:
        """A private message; `language_code` is what the user's Telegram app is set to."""
        if text.startswith("/subscribe"):
            await self.consented(user_id)
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        message = {
            "message_id": next(_ids),
            "date": int(time.time()),
            "chat": {"id": user_id, "type": "private", "first_name": first_name},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        await self.feed({"message": message})

    async def press(self, user_id: int, data: str, *, language_code: str | None = None) -> None:
        """A press on an inline button with callback data."""
        if data in PAYMENT_BUTTONS:
            await self.consented(user_id)
        sender: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": "Ann"}
        if language_code:
            sender["language_code"] = language_code
        await self.feed(
            {
                "callback_query": {
                    "id": str(next(_ids)),
                    "from": sender,
                    "chat_instance": "1",
                    "data": data,
                    "message": {
                        "message_id": 1,
                        "date": int(time.time()),
                        "chat": {"id": user_id, "type": "private"},
                        "text": "button",
                    },
                }
            }
        )

    async def post_event(
        self,
        event: dict[str, Any] | bytes,
        *,
        secret: str = WEBHOOK_SECRET,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """POST a Stripe event, signed with the real scheme unless a signature is given."""
        body = event if isinstance(event, bytes) else json.dumps(event).encode()
        sent_headers = {"Content-Type": "application/json"}
        sent_headers["Stripe-Signature"] = signature or sign_payload(body, secret)
        sent_headers.update(headers or {})
        async with self.http.post(
            f"{self.base_url}/stripe/webhook", data=body, headers=sent_headers
        ) as response:
            return response.status, await response.json()

    async def deliver(self, *, wait: float = 0.0) -> int:
        """Run the delivery worker until nothing is due; returns how many rows it claimed.

        With `wait`, also let up to that many seconds pass for rows that become due later
        (a second message to one chat held back by the per-chat limit, a retry's back-off):
        on the harness's skipping clock, so nothing waits in real time.
        """
        total = 0
        skipped = 0.0
        while True:
            claimed = await self.parts.worker.drain_once()
            total += claimed
            if claimed:
                continue
            due_in = await self._next_due_in()
            if due_in is None or skipped + due_in > wait:
                return total
            self.clock.skip(due_in)
            skipped += due_in

    async def _next_due_in(self) -> float | None:
        """Seconds on the harness clock until the next pending row is due (None: none)."""
        async with self.session() as session:
            due = await session.scalar(
                select(func.min(OutboxMessage.next_attempt_at)).where(
                    OutboxMessage.status == "pending"
                )
            )
        if due is None:
            return None
        return max(0.0, (due - self.clock.now()).total_seconds()) + 0.001

    def worker(self, **options: Any) -> DeliveryWorker:
        """Another delivery worker on this harness's bot and database, as the app builds
        one (the chat's renderer), with `options` for the rest: WorkerConfig's fields
        (rate 100 unless given) and the worker's parts (clock, turn, ...)."""
        fields = set(WorkerConfig.__dataclass_fields__)
        config = WorkerConfig(
            **{
                "rate": 100.0,
                "default_language": self.parts.settings.default_language,
                **{name: value for name, value in options.items() if name in fields},
            }
        )
        parts = {name: value for name, value in options.items() if name not in fields}
        return DeliveryWorker(
            self.parts.bot, self.parts.session_factory, NoticeRenderer().render, config, **parts
        )

    def replies(self, chat_id: int) -> list[SentMessage]:
        return self.fake_bot.sent_messages(chat_id)

    def last_reply(self, chat_id: int) -> SentMessage:
        replies = self.replies(chat_id)
        assert replies, f"the bot sent nothing to {chat_id}"
        return replies[-1]


MakeHarness = Callable[..., Awaitable[Harness]]


@contextlib.asynccontextmanager
async def harness_factory(
    database_url: str, fake_bot: FakeBotAPI, fake_stripe: FakeStripe
) -> AsyncIterator[MakeHarness]:
    """Build harnesses with setting overrides; everything is closed at the end."""
    opened: list[Harness] = []

    async def factory(**overrides: Any) -> Harness:
        values: dict[str, Any] = {
            "_env_file": None,
            "bot_token": BOT_TOKEN,
            "telegram_api_base": fake_bot.base_url,
            "database_url": database_url,
            "web_host": "127.0.0.1",
            "admin_ids": [ADMIN_ID],
            "stripe_api_key": STRIPE_KEY,
            "stripe_api_base": fake_stripe.base_url,
            "stripe_webhook_secret": WEBHOOK_SECRET,
            "stripe_price_ids": [PRICE_MONTHLY, PRICE_YEARLY],
            "public_url": None,
        }
        idle_timeout = overrides.pop("http_idle_timeout", HTTP_IDLE_TIMEOUT)
        auto_consent = overrides.pop("auto_consent", True)
        values.update(overrides)
        settings = load_settings(**values)
        clock = SkippingClock()
        parts = build(settings, create_engine(settings.database_url), clock=clock)
        guard = ConnectionGuard()
        guard.watch(parts.engine, parts.bot)
        runner = create_runner(parts.web_app, idle_timeout=idle_timeout)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        harness = Harness(
            parts=parts,
            fake_bot=fake_bot,
            fake_stripe=fake_stripe,
            base_url=f"http://127.0.0.1:{port}",
            http=aiohttp.ClientSession(),
            _runner=runner,
            guard=guard,
            clock=clock,
            auto_consent=auto_consent,
        )
        opened.append(harness)
        return harness

    yield factory
    for harness in opened:
        await harness.http.close()
        await harness._runner.cleanup()
        await harness.parts.close()
    # The transaction rule (bot/transactions/unit_of_work.py), held for every test that used
    # a harness.
    assert [v for h in opened for v in h.guard.violations] == []


@pytest.fixture
async def make_harness(
    database_url: str, fake_bot: FakeBotAPI, fake_stripe: FakeStripe
) -> AsyncIterator[MakeHarness]:
    """Build harnesses with setting overrides; everything is closed after the test."""
    async with harness_factory(database_url, fake_bot, fake_stripe) as factory:
        yield factory


@pytest.fixture
async def harness(make_harness: MakeHarness) -> Harness:
    return await make_harness()


# --- `python -m bot` as a process (tests/support/processes.py) --------------------------


@pytest.fixture
async def fakes() -> AsyncIterator[tuple[FakeBotAPI, FakeStripe]]:
    async with FakeBotAPI() as fake_bot, FakeStripe() as fake_stripe:
        fake_stripe.add_price(PROCESS_PRICE, product_name="Pro Signals", unit_amount=4900)
        yield fake_bot, fake_stripe


@pytest.fixture
async def migrated_env(tmp_path: Path, fakes: tuple[FakeBotAPI, FakeStripe]) -> dict[str, str]:
    """Settings for a full start against the fakes, on a database `migrate` has prepared."""
    fake_bot, fake_stripe = fakes
    env = base_env(
        BOT_TOKEN=PROCESS_TOKEN,
        DATABASE_URL=sqlite_url(tmp_path / "data" / "bot.db"),
        TELEGRAM_API_BASE=fake_bot.base_url,
        STRIPE_API_BASE=fake_stripe.base_url,
        STRIPE_API_KEY="sk_test_entrypoint",
        STRIPE_WEBHOOK_SECRET="whsec_entrypoint",
        STRIPE_PRICE_IDS=PROCESS_PRICE,
        LOG_LEVEL="DEBUG",  # the most verbose logs must still never show the token
    )
    status, stderr = await run_cli(["migrate"], env, tmp_path)
    assert status == 0, stderr
    return env
