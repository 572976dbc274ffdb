"""The fault suite, Telegram away during a refund: the console answers 503 with Retry-After,
/refund in chat says the refund failed, nothing is booked, and once Telegram is back it
goes through."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from db.models import Entitlement, OutboxMessage, StarPayment
from tests.processes.faults_helpers import expected_faults_only
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.stars_player import invoice_link, pay

# Long tests that mostly wait (processes, hand-overs, outages): started first
# (tests/support/harness.py).
pytestmark = pytest.mark.waits


async def _refund_state(harness: Harness) -> tuple[object, ...]:
    """What a refund changes: the payment's mark, the Stars access, the notices."""
    async with harness.session() as session:
        marks = list(await session.scalars(select(StarPayment.refunded_at)))
        access = list(await session.execute(select(Entitlement.status, Entitlement.expires_at)))
        notices = await session.scalar(select(func.count()).select_from(OutboxMessage))
    return marks, [tuple(row) for row in access], notices


@pytest.mark.parametrize("kind", ["500", "html"])
async def test_a_refund_while_telegram_is_away_changes_nothing_and_says_so(
    make_harness: MakeHarness, caplog: pytest.LogCaptureFixture, kind: str
) -> None:
    """The console answers 503 with Retry-After, /refund in chat the refund-failed text:
    one log line each, no traceback, nothing booked; once Telegram is back it goes through."""
    harness = await make_harness(stars_price=250)
    ann = 9_602_001
    assert await pay(harness, ann, await invoice_link(harness, ann)) is not None
    admin = await login(harness, {"id": ADMIN_ID, "first_name": "Boss"})
    path = f"/api/v1/admin/subscribers/{ann}/refund"
    before = await _refund_state(harness)
    harness.fake_bot.fail_next("refundStarPayment", kind)
    status, body, headers = await call(harness, "POST", path, token=admin, body={})
    assert (status, body["error"]["code"]) == (503, "telegram_unavailable"), body
    assert int(headers["Retry-After"]) >= 1
    assert await _refund_state(harness) == before
    harness.fake_bot.fail_next("refundStarPayment", kind)
    await harness.send_text(ADMIN_ID, f"/refund {ann}")
    assert harness.last_reply(ADMIN_ID).text.startswith("Telegram refused the refund: ")
    assert await _refund_state(harness) == before
    expected_faults_only(caplog)
    status, body, _ = await call(harness, "POST", path, token=admin, body={})
    assert (status, body["amount"]) == (200, 250)
    assert harness.fake_bot.stars.refunded == {body["charge_id"]}
