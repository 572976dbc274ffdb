"""Notification preferences: /settings chooses how new signals (on, silent) and their
updates (on, silent, off) arrive; the delivery worker honours them at send time, so a
change applies to what is still queued; billing notices always arrive with sound."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.delivery.plan import plan_batch
from bot.texts.keyboards import PreferenceButton
from db.models import OutboxMessage, Signal, User
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access, state

ANN = 7_300_001
BOB = 7_300_002
LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000"


def _row(row_id: int, chat: int, kind: str) -> OutboxMessage:
    return OutboxMessage(id=row_id, chat_id=chat, kind=kind, params={}, reply_to_outbox_id=None)


def test_the_plan_skips_turned_off_updates_and_marks_silent_ones() -> None:
    rows = [
        _row(1, ANN, "signal"),
        _row(2, BOB, "signal_update"),
        _row(3, 9, "signal_update"),
        _row(4, 10, "payment_failed"),  # billing: always with sound
    ]
    prefs = {ANN: ("silent", "on"), BOB: ("on", "off"), 9: ("on", "silent"), 10: ("silent", "off")}
    plan = plan_batch(
        rows,
        allowed={ANN, BOB, 9},
        originals={},
        last_sent={},
        clock=0.0,
        now=datetime.now(UTC),
        prefs=prefs,
    )
    assert [(s.row.id, s.silent) for s in plan.sends] == [(1, True), (3, True), (4, False)]
    assert plan.skipped == {2: "updates turned off (/settings)"}


async def _press(harness: Harness, user_id: int, what: str, choice: str) -> None:
    await harness.press(user_id, PreferenceButton(what=what, choice=choice).pack())


async def test_settings_shows_and_saves_the_choices(harness: Harness) -> None:
    await harness.send_text(ANN, "/settings")
    reply = harness.last_reply(ANN)
    assert "New signals: with sound" in reply.text and "Their updates: with sound" in reply.text
    rows = reply.params["reply_markup"]["inline_keyboard"]
    assert [b["text"] for b in rows[1]] == ["✓ 🔔 Updates", "🔕 Updates", "✖ Updates"]
    await _press(harness, ANN, "updates", "off")
    await _press(harness, ANN, "signals", "silent")
    reply = harness.last_reply(ANN)
    assert "New signals: silent" in reply.text and "Their updates: off" in reply.text
    async with harness.session() as session:
        user = await session.get(User, ANN)
        assert user is not None and (user.notify_signals, user.notify_updates) == ("silent", "off")


@pytest.mark.parametrize("data", ["pref:signals:off", "pref:volume:on", "pref:updates:loud"])
async def test_a_forged_choice_changes_nothing(harness: Harness, data: str) -> None:
    await harness.send_text(ANN, "/settings")
    await harness.press(ANN, data)
    async with harness.session() as session:
        user = await session.get(User, ANN)
        assert user is not None and (user.notify_signals, user.notify_updates) == ("on", "on")


async def test_delivery_honours_the_choices_at_send_time(harness: Harness) -> None:
    await give_access(harness, ANN, BOB)
    await harness.send_text(ADMIN_ID, f"/signal {LINE}")
    preview = harness.last_reply(ADMIN_ID)
    send = preview.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    await harness.press(ADMIN_ID, send)
    # Bob turns signals silent and updates off while the signal is still queued.
    await _press(harness, BOB, "signals", "silent")
    await _press(harness, BOB, "updates", "off")
    await harness.deliver(wait=3)
    [ann_signal] = [m for m in harness.replies(ANN) if "BTC/USDT" in m.text]
    [bob_signal] = [m for m in harness.replies(BOB) if "BTC/USDT" in m.text]
    assert ann_signal.params.get("disable_notification") is None
    assert bob_signal.params.get("disable_notification") is True
    async with harness.session() as session:
        signal_id = await session.scalar(select(Signal.id))
    await harness.send_text(ADMIN_ID, f"/update {signal_id} tp1")
    await harness.deliver(wait=3)
    replies = [m for m in harness.replies(ANN) if m.params.get("reply_parameters")]
    assert len(replies) == 1 and replies[0].params.get("disable_notification") is None
    assert [m for m in harness.replies(BOB) if m.params.get("reply_parameters")] == []


async def test_the_mini_app_reads_and_sets_the_same_choices(harness: Harness) -> None:
    token = await login(harness, {"id": ANN, "first_name": "Ann"})
    status, body, _ = await call(harness, "GET", "/api/v1/settings", token=token)
    assert status == 200 and (body["signals"], body["updates"]) == ("on", "on")
    assert body["choices"]["updates"] == ["on", "silent", "off"]
    status, body, _ = await call(
        harness, "POST", "/api/v1/settings", token=token, body={"updates": "silent"}
    )
    assert status == 200 and body["updates"] == "silent"
    before = await state(harness)
    for bad in (
        {},
        {"signals": "off"},
        {"volume": "on"},
        {"signals": 1},
        {"signals": "silent", "updates": "loud"},  # all or nothing
        {"updates": "on", "extra": True},
    ):
        status, body, _ = await call(harness, "POST", "/api/v1/settings", token=token, body=bad)
        assert (status, body["error"]["code"]) == (400, "bad_request"), bad
    status, _, _ = await call(harness, "POST", "/api/v1/settings", raw=b"[")
    assert status == 401
    assert await state(harness) == before
    async with harness.session() as session:
        user = await session.get(User, ANN)
        assert user is not None and (user.notify_signals, user.notify_updates) == ("on", "silent")
