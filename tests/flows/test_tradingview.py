"""TradingView's alerts over real HTTP to the running app (issue 27): a preview with Send to
every admin, or published at once (ALERTS_AUTOPUBLISH) under the posting limit; updates
for the newest open signal of a pair; one signal for the same alert sent twice within the
window; the secret (404 when wrong, in no log line), the body cap, the rate, malformed
alerts named and told to the admins once, the JSON form, and the route off when unset."""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select, update

from bot.notices.kinds import NoticeKind
from bot.texts.keyboards import SignalButton
from db.models import AlertReceipt, OutboxMessage, Signal, SignalStatus
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import count, give_access, outbox, publish_signal

SECRET = "tv_Secret-for-the-alert-tests-0042"
OTHER_ADMIN = 900_002
SUBSCRIBERS = (7401, 7402)
LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000 tf 4h"

Answer = tuple[int, Any, dict[str, str]]


async def post_alert(
    harness: Harness, body: bytes | str | dict[str, Any], *, secret: str = SECRET
) -> Answer:
    """POST one alert as TradingView does: JSON when the message is JSON, else text."""
    if isinstance(body, dict):
        data, kind = json.dumps(body).encode(), "application/json"
    else:
        data = body.encode() if isinstance(body, str) else body
        kind = "text/plain; charset=utf-8"
    async with harness.http.post(
        f"{harness.base_url}/alerts/tradingview/{secret}",
        data=data,
        headers={"Content-Type": kind},
    ) as response:
        payload = await response.json() if response.content_type == "application/json" else None
        return response.status, payload, dict(response.headers)


@pytest.fixture
async def alerts(make_harness: MakeHarness) -> Harness:
    return await make_harness(tradingview_secret=SECRET, admin_ids=[ADMIN_ID, OTHER_ADMIN])


@pytest.fixture
async def autopublish(make_harness: MakeHarness) -> Harness:
    return await make_harness(tradingview_secret=SECRET, alerts_autopublish=True)


async def _signals(harness: Harness) -> list[Signal]:
    async with harness.session() as session:
        return list(await session.scalars(select(Signal).order_by(Signal.id)))


async def _kinds(harness: Harness, chat_id: int) -> list[str]:
    return [row.kind for row in await outbox(harness, chat_id)]


# --- a signal: preview and Send, or published at once -------------------------------------


async def test_an_alert_is_a_preview_with_send_for_every_admin(alerts: Harness) -> None:
    await give_access(alerts, *SUBSCRIBERS)
    status, body, _ = await post_alert(alerts, LINE)
    assert status == 200, body
    assert body["status"] == "preview" and body["total"] == 2  # two admins told
    (draft,) = await _signals(alerts)
    assert draft.status == SignalStatus.DRAFT and body["signal_id"] == draft.id
    assert draft.author_id == alerts.settings.bot_id  # the bot wrote it, not an admin

    await alerts.deliver()
    for admin in (ADMIN_ID, OTHER_ADMIN):
        (preview,) = alerts.replies(admin)
        assert "From a TradingView alert" in preview.text and "Preview" in preview.text
        assert "BTC/USDT" in preview.text and "4h" in preview.text
        send, cancel = preview.params["reply_markup"]["inline_keyboard"][0]
        assert send["text"] == "Send to 2 subscribers"
        assert SignalButton.unpack(send["callback_data"]).signal_id == draft.id
    assert all(alerts.replies(chat) == [] for chat in SUBSCRIBERS)  # nothing before Send

    # Send, as /signal's preview has it: once, whichever admin presses it first.
    await alerts.press(OTHER_ADMIN, SignalButton(action="send", signal_id=draft.id).pack())
    await alerts.press(ADMIN_ID, SignalButton(action="send", signal_id=draft.id).pack())
    await alerts.deliver()
    for chat in SUBSCRIBERS:
        (message,) = alerts.replies(chat)
        assert "<b>BTC/USDT</b> Long" in message.text and f"#{draft.id}" in message.text
    (published,) = await _signals(alerts)
    assert published.status == SignalStatus.OPEN


async def test_autopublish_sends_at_once(autopublish: Harness) -> None:
    await give_access(autopublish, *SUBSCRIBERS)
    status, body, _ = await post_alert(autopublish, LINE)
    assert status == 200, body
    assert (body["status"], body["total"]) == ("published", 2)
    await autopublish.deliver()
    for chat in SUBSCRIBERS:
        (message,) = autopublish.replies(chat)
        assert "<b>BTC/USDT</b> Long" in message.text
    assert await _kinds(autopublish, ADMIN_ID) == []  # no preview: it went out
    await autopublish.parts.progress.report()  # the admin sees its delivery, as for Send
    assert "sent 2 of 2" in autopublish.last_reply(ADMIN_ID).text


async def test_an_alert_reaches_the_signal_channel_and_so_do_its_updates(
    make_harness: MakeHarness,
) -> None:
    """SIGNAL_CHAT_ID gets an alert's signal like any other, and the update alert as a reply
    to its own post (publish and post_update are given the channel, as the chat gives it)."""
    channel = -1_009_876_543_210
    harness = await make_harness(
        tradingview_secret=SECRET, alerts_autopublish=True, signal_chat_id=channel
    )
    await give_access(harness, *SUBSCRIBERS)
    assert (await post_alert(harness, LINE))[0] == 200
    await harness.deliver()
    (post,) = harness.replies(channel)
    assert "<b>BTC/USDT</b> Long" in post.text
    assert (await post_alert(harness, "BTCUSDT tp1"))[0] == 200
    await harness.deliver(wait=5)
    reply = harness.replies(channel)[-1]
    assert reply.params["reply_parameters"]["message_id"] == post.message_id


async def _published_elsewhere(harness: Harness, count: int) -> None:
    for n in range(count):
        await publish_signal(harness, f"ETHUSDT short entry {3400 + n} sl 3500 tp 3300")


async def test_autopublish_over_the_posting_limit_is_a_429_and_a_preview(
    autopublish: Harness,
) -> None:
    await give_access(autopublish, *SUBSCRIBERS)
    await _published_elsewhere(autopublish, 7)
    queued = await count(autopublish, OutboxMessage)
    status, body, headers = await post_alert(autopublish, LINE)
    assert (status, body["error"]["code"]) == (429, "too_many_signals")
    assert body["error"]["message"].startswith("at most 7 signals a minute")
    assert 1 <= int(headers["Retry-After"]) <= 60
    draft = (await _signals(autopublish))[-1]
    assert draft.status == SignalStatus.DRAFT and draft.published_at is None  # kept
    assert body["error"]["signal_id"] == str(draft.id)
    assert await count(autopublish, OutboxMessage) == queued + 1  # the admin's preview only
    await autopublish.deliver()
    preview = autopublish.last_reply(ADMIN_ID)
    assert "Not published at once: at most 7 signals a minute" in preview.text
    send = preview.params["reply_markup"]["inline_keyboard"][0][0]
    assert SignalButton.unpack(send["callback_data"]).signal_id == draft.id


# --- updates ---------------------------------------------------------------------------------


async def test_update_alerts_go_to_the_newest_open_signal_of_the_pair(alerts: Harness) -> None:
    await give_access(alerts, *SUBSCRIBERS)
    older = await publish_signal(alerts, "BTC/USDT long entry 60000 sl 59000 tp 61000 62000")
    newer = await publish_signal(alerts, "BTCUSDT long entry 65000 sl 63500 tp 67000 69000")
    eth = await publish_signal(alerts, "ETHUSDT short entry 3400 sl 3500 tp 3300")
    await alerts.deliver(wait=10)  # one message a second to each chat

    for text, signal_id in (
        ("BTCUSDT tp1", newer),
        ("BINANCE:BTC/USDT close 68000 trailing stop hit", newer),
        ("btcusdt sl", older),  # the newer one is closed now
        ("ETHUSDT cancel", eth),
    ):
        status, body, _ = await post_alert(alerts, text)
        assert status == 200, (text, body)
        assert (body["status"], body["signal_id"]) == ("updated", signal_id), text
    by_id = {s.id: s for s in await _signals(alerts)}
    assert (by_id[newer].status, by_id[newer].exit_price) == (SignalStatus.CLOSED, Decimal(68000))
    assert by_id[newer].tp_hit == 1
    assert by_id[older].status == SignalStatus.STOPPED
    assert by_id[eth].status == SignalStatus.CANCELLED

    await alerts.deliver(wait=10)
    replies = alerts.replies(SUBSCRIBERS[0])
    assert len(replies) == 3 + 4  # three signals, four follow-ups threaded under them
    assert all("reply_parameters" in m.params for m in replies[3:])


async def test_an_update_for_no_open_signal_is_a_400_and_a_notice(alerts: Harness) -> None:
    await publish_signal(alerts, "BTCUSDT long entry 65000 sl 63500 tp 67000 69000")
    status, body, _ = await post_alert(alerts, "SOLUSDT tp1")
    assert (status, body["error"]["code"]) == (400, "unknown_symbol")
    assert body["error"]["message"] == "there is no open signal for SOLUSDT"
    await alerts.deliver()
    notice = alerts.last_reply(ADMIN_ID).text
    assert "A TradingView alert was refused" in notice and "no open signal for SOLUSDT" in notice

    # The signal cannot take it: 409, said as /update says it.
    assert (await post_alert(alerts, "BTCUSDT tp1"))[0] == 200
    status, body, _ = await post_alert(alerts, "BTCUSDT tp1 again")
    assert (status, body["error"]["code"]) == (409, "signal_state")
    assert "TP1 of signal #1 was already reported" in body["error"]["message"]


# --- the same alert twice --------------------------------------------------------------------


async def test_the_same_alert_twice_within_the_window_makes_one_signal(alerts: Harness) -> None:
    first = await post_alert(alerts, LINE)
    again = await post_alert(alerts, "  btcusdt LONG entry 65000  sl 63500 tp 67000 69000 TF 240")
    assert (first[0], first[1]["status"]) == (200, "preview")
    assert (again[0], again[1]["status"]) == (200, "duplicate")
    json_again = await post_alert(alerts, {"signal": LINE})
    assert json_again[1]["status"] == "duplicate"
    assert len(await _signals(alerts)) == 1
    assert len(await _kinds(alerts, ADMIN_ID)) == 1

    # Six minutes later the same alert is a new one.
    async with alerts.session() as session, session.begin():
        await session.execute(
            update(AlertReceipt).values(received_at=datetime.now(UTC) - timedelta(minutes=6))
        )
    later = await post_alert(alerts, LINE)
    assert (later[0], later[1]["status"]) == (200, "preview")
    assert len(await _signals(alerts)) == 2


async def test_the_same_alert_at_the_same_moment_makes_one_signal(alerts: Harness) -> None:
    """Two instances (or two requests) taking it at once: one statement decides."""
    answers = await asyncio.gather(*(post_alert(alerts, LINE) for _ in range(4)))
    assert sorted(a[1]["status"] for a in answers) == ["duplicate"] * 3 + ["preview"]
    assert len(await _signals(alerts)) == 1


# --- the secret, the body, the rate --------------------------------------------------------


async def _not_found(harness: Harness) -> tuple[int, bytes, str | None]:
    async with harness.http.post(harness.base_url + "/alerts/nothing/here", data=b"x") as r:
        return r.status, await r.read(), r.content_type


@pytest.mark.parametrize(
    "wrong",
    [SECRET[:-1], SECRET + "x", SECRET.upper(), "Wrong-secret-of-the-same-length-00", "%C3%A9"],
)
async def test_a_wrong_secret_is_a_404_and_logged_nowhere(
    alerts: Harness, caplog: pytest.LogCaptureFixture, wrong: str
) -> None:
    caplog.set_level(logging.DEBUG)
    await give_access(alerts, *SUBSCRIBERS)
    before = (await count(alerts, Signal), await count(alerts, OutboxMessage))
    for method in ("POST", "GET", "PUT"):
        async with alerts.http.request(
            method, f"{alerts.base_url}/alerts/tradingview/{wrong}", data=LINE.encode()
        ) as response:
            seen = (response.status, await response.read(), response.content_type)
        assert seen == await _not_found(alerts), method  # as if there were no such route
    assert (await count(alerts, Signal), await count(alerts, OutboxMessage)) == before
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert wrong not in logged and SECRET not in logged


async def test_the_right_secret_is_in_no_log_line_even_when_it_fails(
    alerts: Harness, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    assert SECRET in alerts.settings.secret_values()  # the redaction knows it, too
    assert (await post_alert(alerts, LINE))[0] == 200
    assert (await post_alert(alerts, "BTCUSDT long entry 1 sl 2 tp 3"))[0] == 400

    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("bot.signals.alerts.receive", broken)
    status, _, _ = await post_alert(alerts, "ETHUSDT short entry 3400 sl 3500 tp 3300")
    assert status == 500
    lines = [r.getMessage() for r in caplog.records]
    assert any("/alerts/tradingview/<secret>" in line for line in lines)  # the path, masked
    assert not any(SECRET in line or "<redacted>" in line for line in lines)


async def test_an_alert_over_8_kb_is_413(alerts: Harness) -> None:
    status, body, _ = await post_alert(alerts, LINE + " note " + "x" * 8200)
    assert (status, body["error"]["code"]) == (413, "payload_too_large")
    assert await count(alerts, Signal) == 0


async def test_too_many_alerts_at_once_are_429(alerts: Harness) -> None:
    answers = [
        await post_alert(alerts, f"BTCUSDT long entry {100 + n} sl 90 tp 120") for n in range(21)
    ]
    assert [a[0] for a in answers[:20]] == [200] * 20
    status, body, headers = answers[20]
    assert (status, body["error"]["code"]) == (429, "too_many_requests")
    assert int(headers["Retry-After"]) >= 1
    assert await count(alerts, Signal) == 20


# --- malformed alerts ------------------------------------------------------------------------


async def test_a_malformed_alert_names_the_word_and_tells_the_admins_once(
    alerts: Harness,
) -> None:
    bad = "BTCUSDT long entry 65000 sl 66000 tp 67000"
    for _ in range(3):  # a broken alert firing on every bar
        status, body, _ = await post_alert(alerts, bad)
        assert (status, body["error"]["code"]) == (400, "invalid_signal")
        assert body["error"]["token"] == "66000"
        assert body["error"]["message"] == "'66000': for a long, sl must be below the entry"
    assert await count(alerts, Signal) == 0
    assert await _kinds(alerts, ADMIN_ID) == [NoticeKind.ALERT_PROBLEM]
    await alerts.deliver()
    (notice,) = alerts.replies(ADMIN_ID)
    assert "A TradingView alert was refused: <code>66000</code>: for a long, sl" in notice.text
    assert f"<code>{bad}</code>" in notice.text

    # Another kind of problem is told too, once.
    for _ in range(2):
        status, body, _ = await post_alert(alerts, "BTCUSDT long entry 65000 sl 63500")
        assert (status, body["error"]["token"]) == (400, "tp")
    assert len(await _kinds(alerts, OTHER_ADMIN)) == 2


# --- the JSON form, and the route off --------------------------------------------------------


async def test_the_json_form_with_tradingviews_placeholders_filled(alerts: Harness) -> None:
    message = {"signal": "BINANCE:BTCUSDT.P buy entry 65000.5 sl 63500 tp 67000 tf 240"}
    status, body, _ = await post_alert(alerts, message)
    assert (status, body["status"]) == (200, "preview")
    (signal,) = await _signals(alerts)
    assert (signal.symbol, signal.side, signal.timeframe) == ("BTCUSDT", "long", "4h")
    assert signal.entry_low == Decimal("65000.5")

    for wrong, token in (({"text": LINE}, "signal"), ({"signal": 5}, "signal")):
        status, body, _ = await post_alert(alerts, wrong)
        assert (status, body["error"]["token"]) == (400, token)
        assert "needs a “signal” field" in body["error"]["message"]
    status, body, _ = await post_alert(alerts, b'{"signal": ')
    assert (status, body["error"]["message"]) == (
        400,
        "the alert starts with { but is not valid JSON",
    )


async def test_the_route_is_off_without_the_secret(harness: Harness) -> None:
    async with harness.http.post(
        f"{harness.base_url}/alerts/tradingview/{SECRET}", data=LINE.encode()
    ) as response:
        seen = (response.status, await response.read(), response.content_type)
    assert seen == await _not_found(harness)
    assert await count(harness, Signal) == 0


async def test_another_method_with_the_right_secret_is_405(alerts: Harness) -> None:
    async with alerts.http.get(f"{alerts.base_url}/alerts/tradingview/{SECRET}") as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
        assert (await response.json())["error"]["code"] == "method_not_allowed"
