"""`python -m bot` with PRICE_SOURCE: the composition root starts the price watcher, which
reads the fake exchange over real HTTP and tells a subscriber of a take-profit; an
exchange ccxt does not know stops start-up with one line, exit status 2."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp

from bot.signals import service as signals
from bot.signals.syntax import parse_signal
from db.engine import create_engine, create_session_factory
from tests.support.fakes.bot_api import FakeBotAPI
from tests.support.fakes.exchange import FakeExchange, minute_of
from tests.support.fakes.stripe_api import FakeStripe
from tests.support.processes import (
    HTTP_TIMEOUT,
    assert_no_token,
    assert_one_line,
    eventually,
    run_cli,
    running_bot,
)

SUBSCRIBER = 5_551_001
ADMIN = 5_551_000


async def _publish(url: str, published: datetime) -> None:
    """A subscriber with a week of access and one signal published at `published`."""
    from bot.accounts import entitlement_writes  # noqa: PLC0415
    from db.models import Entitlement, EntitlementSource, User  # noqa: PLC0415

    engine = create_engine(url)
    try:
        async with create_session_factory(engine)() as session, session.begin():
            session.add(User(id=SUBSCRIBER, first_name="Ann"))
            await session.flush()
            await entitlement_writes.save(
                session,
                Entitlement(
                    user_id=SUBSCRIBER,
                    source=EntitlementSource.GRANT,
                    source_ref=f"admin:{ADMIN}",
                    status="active",
                    expires_at=datetime.now(UTC) + timedelta(days=7),
                    state_version=1,
                ),
            )
            line = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000"
            draft = await signals.create_draft(session, parse_signal(line), ADMIN)
            await signals.publish(session, draft.id, published)
    finally:
        await engine.dispose()


async def test_python_m_bot_watches_prices_and_tells_the_subscriber(
    tmp_path: Path, fakes: tuple[FakeBotAPI, FakeStripe], migrated_env: dict[str, str]
) -> None:
    fake_bot, _ = fakes
    now = minute_of(datetime.now(UTC))
    await _publish(migrated_env["DATABASE_URL"], now - timedelta(minutes=5, seconds=30))
    async with FakeExchange() as exchange:
        exchange.market("BTCUSDT", "BTC", "USDT")
        exchange.candle("BTCUSDT", now - timedelta(minutes=4), (65500, 65600, 64900, 65200))
        exchange.candle("BTCUSDT", now - timedelta(minutes=2), (65200, 67100, 65000, 66900))
        env = {
            **migrated_env,
            "PRICE_SOURCE": "binance",
            "PRICE_API_BASE": exchange.base_url,
            "OUTCOMES": "auto",
            "PRICE_CHECK_SECONDS": "5",
        }
        async with (
            running_bot(env, tmp_path) as bot,
            aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http,
        ):
            await bot.wait_ready(http)
            await eventually(
                lambda: len(fake_bot.sent_messages(SUBSCRIBER)) >= 2, "the signal and its tp1"
            )
            signal, follow_up = fake_bot.sent_messages(SUBSCRIBER)[:2]
            assert "BTC/USDT" in signal.text and "TP1" in follow_up.text
            assert follow_up.params["reply_parameters"]["message_id"] == signal.message_id
            assert exchange.klines_asked("BTCUSDT") >= 1
            assert await bot.terminate() == 0
    assert_no_token(bot.output())


async def test_an_exchange_ccxt_does_not_know_is_one_line_and_status_two(
    tmp_path: Path, migrated_env: dict[str, str]
) -> None:
    env = {**migrated_env, "PRICE_SOURCE": "nosuchexchange", "LOG_LEVEL": "WARNING"}
    status, stderr = await run_cli([], env, tmp_path)
    assert status == 2
    assert_one_line(stderr, "start-up error: PRICE_SOURCE: ccxt", "no exchange 'nosuchexchange'")
