"""Several instances on one PostgreSQL, as docs/operations.md's "Running several instances"
runs them: two `python -m bot` in webhook mode behind HAProxy, plus one `python -m bot
worker`. An instance is killed (SIGKILL) mid-broadcast and mid-webhook burst: nothing is lost,
nothing is sent twice beyond the in-flight bound, every webhook is applied once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.delivery.config import CONCURRENCY
from bot.notices.kinds import NoticeKind
from bot.notices.outbox import enqueue_many
from db.engine import create_session_factory
from db.models import Entitlement, OutboxMessage, ProcessedStripeEvent
from tests.support.cluster import haproxy_binary, running_haproxy
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.stripe_api import FakeStripe, make_event, make_subscription, sign_payload
from tests.support.harness import empty_postgres
from tests.support.processes import (
    HTTP_TIMEOUT,
    PRICE,
    TOKEN,
    Running,
    assert_no_token,
    base_env,
    eventually,
    running_bot,
    start_update,
)

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits

WEBHOOK_SECRET = "whsec_instances"
TELEGRAM_SECRET = "instances-telegram-secret"
TURN_TAKEN = "this process has the sending turn"
DAY = 86_400


@pytest.fixture
async def database() -> AsyncIterator[AsyncEngine]:
    """This xdist worker's PostgreSQL database, migrated and empty."""
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("several instances share PostgreSQL; set TEST_DATABASE_URL")
    if haproxy_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("haproxy is missing: .ci/run installs it (apt-get install haproxy)")
        pytest.skip("haproxy is not installed (apt-get install haproxy)")
    engine = await empty_postgres(os.environ["TEST_DATABASE_URL"])
    try:
        yield engine
    finally:
        await engine.dispose()


@dataclass
class Cluster:
    instances: list[Running]  # python -m bot, webhook mode
    worker: Running  # python -m bot worker
    balancer: str  # HAProxy's base URL

    @property
    def processes(self) -> list[Running]:
        return [*self.instances, self.worker]

    def turn_holders(self) -> list[Running]:
        return [p for p in self.processes if TURN_TAKEN in p.output()]


@contextlib.asynccontextmanager
async def cluster(
    engine: AsyncEngine, fakes: tuple[FakeBotAPI, FakeStripe], workdir: Path
) -> AsyncIterator[Cluster]:
    fake_bot, fake_stripe = fakes
    env = base_env(
        BOT_TOKEN=TOKEN,
        DATABASE_URL=engine.url.render_as_string(hide_password=False),
        TELEGRAM_API_BASE=fake_bot.base_url,
        PUBLIC_URL="https://bot.example.test",
        TELEGRAM_WEBHOOK_SECRET=TELEGRAM_SECRET,
        STRIPE_API_BASE=fake_stripe.base_url,
        STRIPE_API_KEY="sk_test_instances",
        STRIPE_WEBHOOK_SECRET=WEBHOOK_SECRET,
        STRIPE_PRICE_IDS=PRICE,
        DELIVERY_RATE="100",
        DELIVERY_LEASE_SECONDS="10",
    )
    async with contextlib.AsyncExitStack() as stack:
        instances = [await stack.enter_async_context(running_bot(env, workdir)) for _ in range(2)]
        worker = await stack.enter_async_context(running_bot(env, workdir, "worker"))
        async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
            for instance in instances:
                await instance.wait_ready(http)
        ports = [int(i.base_url.rsplit(":", 1)[1]) for i in instances]
        balancer = await stack.enter_async_context(running_haproxy(ports, workdir))
        running = Cluster(instances, worker, balancer)
        await eventually(lambda: len(running.turn_holders()) == 1, "a process to take the turn")
        yield running
        for process in running.processes:
            assert "Traceback" not in process.output(), process.output()
            assert_no_token(process.output())


async def _pending(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        left = await conn.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent")
        )
        return int(left or 0)


async def _until(condition: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not await condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.1)


async def test_killing_the_sender_mid_broadcast_loses_nothing(
    tmp_path: Path, database: AsyncEngine, fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    fake_bot, _ = fakes
    chats = list(range(7_100_000, 7_100_400))
    async with cluster(database, fakes, tmp_path) as running:
        async with create_session_factory(database)() as session, session.begin():
            await enqueue_many(
                session, ((c, NoticeKind.REPLY, {"html": f"to {c}"}) for c in chats)
            )
        await eventually(lambda: len(fake_bot.sent_messages()) >= 100, "the broadcast to start")
        (holder,) = running.turn_holders()
        holder.proc.kill()  # SIGKILL: its in-flight sends are the documented bound

        await _until(lambda: _all_sent(database), "the rest of the broadcast")
        survivors = [p for p in running.processes if p is not holder]
        assert sum(TURN_TAKEN in p.output() for p in survivors) == 1  # one took over

    received = Counter(m.chat_id for m in fake_bot.sent_messages())
    assert set(received) >= set(chats)  # nothing lost
    twice = sum(received[c] - 1 for c in chats)
    assert twice <= CONCURRENCY, f"{twice} sent twice; at most the sends in flight"


async def _all_sent(engine: AsyncEngine) -> bool:
    return await _pending(engine) == 0


def _subscription_event(
    user_id: int, created: int, *, kind: str = "created", cancelling: bool = False
) -> bytes:
    subscription = make_subscription(
        f"sub_inst_{user_id}",
        customer=f"cus_inst_{user_id}",
        price_id=PRICE,
        current_period_end=created + 30 * DAY,
        metadata={"telegram_user_id": str(user_id)},
        cancel_at_period_end=cancelling,
    )
    event = make_event(
        f"customer.subscription.{kind}",
        subscription,
        created=created,
        event_id=f"evt_inst_{kind}_{user_id}",
    )
    return json.dumps(event).encode()


async def _deliver_as_stripe(http: aiohttp.ClientSession, url: str, body: bytes) -> int:
    """POST until a 2xx, as Stripe retries a webhook; returns how many tries it took."""
    for attempt in range(1, 21):
        headers = {
            "Stripe-Signature": sign_payload(body, WEBHOOK_SECRET),
            "Content-Type": "application/json",
        }
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with http.post(url, data=body, headers=headers) as response:
                if 200 <= response.status < 300:
                    return attempt
        await asyncio.sleep(0.2)
    raise AssertionError("a webhook was never acknowledged")


async def test_killing_an_instance_mid_webhook_burst_applies_every_event_once(
    tmp_path: Path, database: AsyncEngine, fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    users = list(range(7_200_000, 7_200_300))
    created = int(time.time()) - 60
    bodies = [_subscription_event(user, created) for user in users]
    # A new subscriber's first events come together: for some, the next one (a cancel at
    # period end) right behind the first, so the two reach both instances at once, each
    # linking the same new customer under the user's lock.
    cancelling = users[:40]
    for index, user in enumerate(cancelling):
        later = _subscription_event(user, created + 1, kind="updated", cancelling=True)
        bodies.insert(2 * index + 1, later)
    acknowledged = 0
    tries: list[int] = []
    async with (
        cluster(database, fakes, tmp_path) as running,
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
    ):
        url = running.balancer + "/stripe/webhook"
        queue: asyncio.Queue[bytes] = asyncio.Queue()
        for body in bodies:
            queue.put_nowait(body)

        async def sender() -> None:
            nonlocal acknowledged
            while not queue.empty():
                tries.append(await _deliver_as_stripe(http, url, queue.get_nowait()))
                acknowledged += 1

        senders = [asyncio.create_task(sender()) for _ in range(16)]
        await eventually(lambda: acknowledged >= 80, "the burst to be under way")
        running.instances[0].proc.kill()
        await asyncio.gather(*senders)
        # Stripe redelivers an event it is not sure of: some again, to whoever is left.
        for body in bodies[:50]:
            await _deliver_as_stripe(http, url, body)

    async with database.connect() as conn:
        processed = await conn.scalar(select(func.count()).select_from(ProcessedStripeEvent))
        entitled = await conn.scalar(
            select(func.count(func.distinct(Entitlement.user_id))).where(
                Entitlement.user_id.in_(users)
            )
        )
        cancelled = set(
            await conn.scalars(
                select(Entitlement.user_id).where(
                    Entitlement.user_id.in_(users), Entitlement.cancel_at_period_end.is_(True)
                )
            )
        )
        notices = Counter(
            (row.chat_id, row.kind)
            for row in await conn.execute(
                select(OutboxMessage.chat_id, OutboxMessage.kind).where(
                    OutboxMessage.chat_id.in_(users)
                )
            )
        )
    # HAProxy sent what met the dead instance to the other one: no sender saw an error.
    assert tries == [1] * len(bodies)
    assert processed == len(bodies)
    assert entitled == len(users)
    assert cancelled == set(cancelling)  # the later event won, whichever came first
    assert notices and set(notices.values()) == {1}, "a notice written twice"
    assert {chat for chat, _ in notices} == set(users)


async def test_an_update_delivered_to_two_instances_is_handled_once(
    tmp_path: Path, database: AsyncEngine, fakes: tuple[FakeBotAPI, FakeStripe]
) -> None:
    fake_bot, _ = fakes
    chat_id = 7_300_001
    update = {"update_id": 880_001, **start_update(chat_id)}
    headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    async with (
        cluster(database, fakes, tmp_path) as running,
        aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
    ):

        async def deliver(base_url: str) -> None:
            hook = base_url + "/telegram/webhook"
            async with http.post(hook, json=update, headers=headers) as response:
                assert response.status == 200

        # Telegram sends an update again when it got no 200 for it (the answer was lost,
        # or came too late), maybe to another instance: each delivery here is answered
        # only once its handling is over (no background handling), so the first has
        # replied before the next arrives.
        first, second = running.instances
        await deliver(first.base_url)
        assert len(fake_bot.sent_messages(chat_id)) == 1
        await deliver(second.base_url)
        for _ in range(2):  # and through the balancer, to each instance in turn
            await deliver(running.balancer)
        assert all("was handled before; skipped" in i.output() for i in running.instances)
    # Each answer above came after its handling was done (no background handling).
    assert len(fake_bot.sent_messages(chat_id)) == 1
