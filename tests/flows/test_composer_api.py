"""The Mini App's composer over its API, on both databases: a signal given field by field
(previewed as the message subscribers get, each mistake named at its field, published
behind the 7-a-minute guard), the admins' signal cards with their update buttons (the
same service as /update) and their delivery reports, and 403 for everyone else."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from db.models import OutboxMessage, Signal, SignalUpdate
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import count, give_access, publish_signal, state

SUBSCRIBERS = (7401, 7402, 7403)
ADMIN = {"id": ADMIN_ID, "first_name": "Ada"}
FORM: dict[str, Any] = {
    "symbol": "BTCUSDT",
    "side": "long",
    "entry": ["65000"],
    "stop_loss": "63500",
    "take_profits": ["67000", "69000"],
    "leverage": "5",
    "timeframe": "4h",
    "note": "breakout retest",
}
LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000 lev 5 tf 4h note breakout retest"


async def _admin(harness: Harness) -> str:
    return await login(harness, ADMIN)


def _text(runs: list[dict[str, Any]]) -> str:
    return "".join(run["text"] for run in runs)


def _read(message_html: str) -> str:
    """What a subscriber reads of a message: its text without the markup."""
    return html.unescape(re.sub(r"<[^>]+>", "", message_html))


async def _preview(harness: Harness, token: str, body: Any, **kwargs: Any) -> tuple[int, Any]:
    status, payload, _ = await call(
        harness, "POST", "/api/v1/admin/signals/preview", token=token, body=body, **kwargs
    )
    return status, payload


# --- the preview ------------------------------------------------------------------------------


async def test_the_preview_is_the_message_subscribers_get(harness: Harness) -> None:
    await give_access(harness, *SUBSCRIBERS[:2])
    token = await _admin(harness)
    status, form = await _preview(harness, token, {"signal": FORM})
    assert status == 200, form
    _, line = await _preview(harness, token, {"text": LINE})
    # Field by field or in one line: the same signal, the same words.
    assert form == line
    assert form["canonical"] == f"/signal {LINE}"
    assert (form["recipients"], form["style"]) == (2, "cornix")
    assert form["message"][0] == {"text": "BTC/USDT", "marks": ["b"]}
    assert {"text": "Take-Profit Targets:", "marks": ["b"]} in form["message"]
    assert await count(harness, Signal) == 0  # a preview stores nothing

    status, posted, _ = await call(
        harness, "POST", "/api/v1/admin/signals", token=token, body={"signal": FORM}
    )
    assert status == 201, posted
    await harness.deliver()
    got = _read(harness.last_reply(SUBSCRIBERS[0]).text)
    # Exactly what the preview showed, but for the number the signal got when posted.
    assert got == _text(form["message"]).replace(" Long", f" Long #{posted['signal_id']}", 1)


async def test_the_preview_follows_signal_style_and_the_callers_language(
    make_harness: MakeHarness,
) -> None:
    harness = await make_harness(signal_style="classic")
    token = await _admin(harness)
    _, english = await _preview(harness, token, {"signal": FORM})
    assert _text(english["message"]).startswith("🟢 LONG BTCUSDT")
    assert english["style"] == "classic"
    _, russian = await _preview(harness, token, {"signal": FORM}, language="ru")
    assert "\nСтоп-лосс: 63500\n" in _text(russian["message"])
    assert russian["signal"] == english["signal"]


@pytest.mark.parametrize(
    ("change", "field", "index", "token"),
    [
        ({"symbol": "BTC-USDT!"}, "symbol", None, "BTC-USDT!"),
        ({"side": "up"}, "side", None, "up"),
        ({"entry": ["65000", "64000"]}, "entry", None, "65000-64000"),
        ({"entry": ["65000", "6,5"]}, "entry", 1, "6,5"),
        ({"stop_loss": "66000"}, "stop_loss", None, "66000"),
        ({"take_profits": ["67000", "64000"]}, "take_profits", 1, "64000"),
        ({"take_profits": []}, "take_profits", None, "tp"),
        ({"leverage": "0"}, "leverage", None, "0"),
        ({"timeframe": "soon"}, "timeframe", None, "soon"),
        ({"note": "sell at the top"}, "note", None, "sell"),
        ({"symbol": "BTCXYZ"}, "symbol", None, "BTCXYZ"),
    ],
    ids=str,
)
async def test_a_mistake_names_its_field_and_changes_nothing(
    harness: Harness, change: dict[str, Any], field: str, index: int | None, token: str
) -> None:
    admin = await _admin(harness)
    before = await state(harness)
    body = {"signal": {**FORM, **change}}
    for path in ("/api/v1/admin/signals/preview", "/api/v1/admin/signals"):
        status, payload, _ = await call(harness, "POST", path, token=admin, body=body)
        assert status == 400, payload
        error = payload["error"]
        assert (error["code"], error["field"], error["index"]) == ("invalid_signal", field, index)
        assert error["token"] == token
        assert error["message"]
    assert await state(harness) == before
    assert await count(harness, Signal) == 0


async def test_the_mistake_is_worded_in_the_callers_language(harness: Harness) -> None:
    admin = await _admin(harness)
    body = {"signal": {**FORM, "stop_loss": "66000"}}
    _, english = await _preview(harness, admin, body)
    _, russian = await _preview(harness, admin, body, language="ru")
    assert english["error"]["message"] == "for a long, sl must be below the entry"
    assert russian["error"]["message"] != english["error"]["message"]
    assert russian["error"]["field"] == "stop_loss"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"signal": FORM, "text": LINE}, None),
        ({"signal": "BTCUSDT long"}, None),
        ({"signal": [FORM]}, None),
        ({"signal": {**FORM, "size": "1"}}, "size"),
        ({"signal": {**FORM, "stop_loss": 63500}}, "stop_loss"),
        ({"signal": {**FORM, "entry": 65000}}, "entry"),
        ({"signal": {**FORM, "entry": [65000]}}, "entry"),
        ({"signal": {**FORM, "take_profits": ["67000"] * 16}}, "take_profits"),
        ({"signal": {**FORM, "take_profits": [["67000"]]}}, "take_profits"),
        ({"signal": {**FORM, "symbol": "B" * 65}}, "symbol"),
        ({"signal": {**FORM, "note": "n" * 2001}}, "note"),
        ({"signal": {**FORM, "leverage": True}}, "leverage"),
        ({"signal": {**FORM, "side": {"long": 1}}}, "side"),
    ],
    ids=str,
)
async def test_a_body_of_the_wrong_shape_is_400(
    harness: Harness, body: dict[str, Any], field: str | None
) -> None:
    admin = await _admin(harness)
    before = await state(harness)
    for path in ("/api/v1/admin/signals/preview", "/api/v1/admin/signals"):
        status, payload, _ = await call(harness, "POST", path, token=admin, body=body)
        assert (status, payload["error"]["code"]) == (400, "bad_request"), payload
        assert payload["error"].get("field") == field
    assert await state(harness) == before
    assert await count(harness, Signal) == 0


# --- publishing -------------------------------------------------------------------------------


async def test_posting_from_the_form_gives_the_card(harness: Harness) -> None:
    await give_access(harness, *SUBSCRIBERS[:2])
    admin = await _admin(harness)
    status, posted, _ = await call(
        harness, "POST", "/api/v1/admin/signals", token=admin, body={"signal": FORM}
    )
    assert status == 201, posted
    card = posted["signal"]
    assert (card["id"], card["symbol"], card["status"]) == (posted["signal_id"], "BTCUSDT", "open")
    assert card["updates"] == ["tp1", "tp2", "sl", "close", "cancel"]
    assert card["delivery"] == {
        "broadcast_id": posted["broadcast_id"],
        "total": 2,
        "sent": 0,
        "pending": 2,
        "failed": 0,
        "blocked": 0,
        "skipped": 0,
        "done": False,
        "last_sent_at": None,
        "seconds": None,
    }
    assert posted["total"] == 2


async def test_the_eighth_signal_in_a_minute_is_429_with_retry_after(harness: Harness) -> None:
    admin = await _admin(harness)
    for n in range(7):
        body = {"signal": {**FORM, "entry": [f"6500{n}"]}}
        status, _, _ = await call(harness, "POST", "/api/v1/admin/signals", token=admin, body=body)
        assert status == 201
    before = await state(harness)
    status, payload, headers = await call(
        harness, "POST", "/api/v1/admin/signals", token=admin, body={"signal": FORM}
    )
    assert (status, payload["error"]["code"]) == (429, "too_many_signals")
    seconds = int(headers["Retry-After"])
    assert 1 <= seconds <= 60 and payload["error"]["retry_after"] == seconds
    assert f"try again in {seconds} s" in payload["error"]["message"]
    assert await count(harness, Signal) == 7  # nothing kept
    assert await state(harness) == before


# --- the cards and their delivery reports -----------------------------------------------------


async def test_a_cards_delivery_report(harness: Harness) -> None:
    await give_access(harness, *SUBSCRIBERS)
    admin = await _admin(harness)
    harness.fake_bot.fail_next("sendMessage", "403", chat_id=SUBSCRIBERS[1])
    harness.fake_bot.fail_next("sendMessage", "400", chat_id=SUBSCRIBERS[2])
    _, posted, _ = await call(
        harness, "POST", "/api/v1/admin/signals", token=admin, body={"signal": FORM}
    )
    signal_id = posted["signal_id"]
    await harness.deliver()
    # The last subscriber got it 2.5 s after Send (set exactly: the harness's clocks run).
    async with harness.session() as session, session.begin():
        stored = await session.get(Signal, signal_id)
        assert stored is not None and stored.published_at is not None
        last = stored.published_at + timedelta(seconds=2.5)
        await session.execute(
            update(OutboxMessage).where(OutboxMessage.sent_at.is_not(None)).values(sent_at=last)
        )
    status, card, _ = await call(harness, "GET", f"/api/v1/admin/signals/{signal_id}", token=admin)
    assert status == 200
    report = card["delivery"]
    assert (report["total"], report["sent"], report["blocked"], report["failed"]) == (3, 1, 1, 1)
    assert (report["pending"], report["done"], report["seconds"]) == (0, True, 2.5)
    assert report["last_sent_at"] == last.isoformat()

    status, listed, _ = await call(harness, "GET", "/api/v1/admin/signals", token=admin)
    assert status == 200 and listed["signals"][0] == card


async def test_the_cards_newest_first_and_drafts_never(harness: Harness) -> None:
    admin = await _admin(harness)
    first = await publish_signal(harness, "ETHUSDT short entry 3400 sl 3500 tp 3300")
    second = await publish_signal(harness, LINE)
    async with harness.session() as session, session.begin():
        from bot.signals import service as signals
        from bot.signals.syntax import parse_signal

        draft = await signals.create_draft(session, parse_signal(LINE), ADMIN_ID)
    _, listed, _ = await call(harness, "GET", "/api/v1/admin/signals", token=admin)
    assert [card["id"] for card in listed["signals"]] == [second, first]
    assert listed["signals"][0]["delivery"]["total"] == 0  # nobody had access
    for bad, expected in ((str(draft.id), 404), ("99999", 404), ("abc", 400), ("1" * 12, 400)):
        status, payload, _ = await call(
            harness, "GET", f"/api/v1/admin/signals/{bad}", token=admin
        )
        assert status == expected, (bad, payload)


# --- the update buttons -----------------------------------------------------------------------


async def _update(
    harness: Harness, token: str, signal_id: int | str, body: Any
) -> tuple[int, Any]:
    status, payload, _ = await call(
        harness, "POST", f"/api/v1/admin/signals/{signal_id}/updates", token=token, body=body
    )
    return status, payload


async def test_the_buttons_update_the_signal_as_update_does(harness: Harness) -> None:
    await give_access(harness, *SUBSCRIBERS[:2])
    admin = await _admin(harness)
    signal_id = await publish_signal(harness, LINE)
    await harness.deliver()

    status, answer = await _update(harness, admin, signal_id, {"kind": "tp1"})
    assert status == 201, answer
    card = answer["signal"]
    assert (card["status"], card["tp_hit"], card["result_r"]) == ("tp1", 1, "1.3333")
    assert card["updates"] == ["tp2", "sl", "close"]
    assert card["delivery"]["sent"] == 2  # the signal's own report, not the follow-up's
    assert answer["total"] == 2
    await harness.deliver(wait=5)  # one message a second to each chat
    for chat in SUBSCRIBERS[:2]:
        original, follow_up = harness.replies(chat)
        assert follow_up.params["reply_parameters"]["message_id"] == original.message_id

    # A take-profit reported already, a cancel after one: the rules' own refusals.
    for body in ({"kind": "tp1"}, {"kind": "cancel"}):
        before = await state(harness)
        status, answer = await _update(harness, admin, signal_id, body)
        assert (status, answer["error"]["code"]) == (409, "signal_state"), answer
        assert answer["error"]["message"]
        assert await state(harness) == before

    status, answer = await _update(
        harness, admin, signal_id, {"kind": "close", "price": "66000", "note": "done for the week"}
    )
    assert status == 201, answer
    card = answer["signal"]
    assert (card["status"], card["exit_price"], card["updates"]) == ("closed", "66000", [])
    async with harness.session() as session:
        assert await count(harness, SignalUpdate) == 2
        stored = await session.get(Signal, signal_id)
        assert stored is not None and stored.closed_at is not None

    status, answer = await _update(harness, admin, signal_id, {"kind": "sl"})
    assert (status, answer["error"]["code"]) == (409, "signal_state")


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"kind": "close"}, "invalid_update", "price"),
        ({"kind": "close", "price": "66,000"}, "invalid_update", "price"),
        ({"kind": "tp9"}, "invalid_update", "kind"),
        ({"kind": "moon"}, "invalid_update", "kind"),
        ({"kind": "sl", "price": "0"}, "invalid_update", "price"),
        ({"kind": "tp1", "note": "closing half"}, "invalid_update", "note"),
        ({"kind": "sl", "note": "x" * 501}, "invalid_update", "note"),
        ({"kind": "cancel", "price": "65000"}, "bad_request", "price"),
        ({"kind": ""}, "bad_request", "kind"),
        ({}, "bad_request", "kind"),
        ({"kind": 1}, "bad_request", "kind"),
        ({"kind": "tp1", "size": "all"}, "bad_request", "size"),
        ({"kind": "close", "price": 66000}, "bad_request", "price"),
    ],
    ids=str,
)
async def test_a_bad_update_is_400_at_its_field_and_changes_nothing(
    harness: Harness, body: dict[str, Any], code: str, field: str
) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    admin = await _admin(harness)
    signal_id = await publish_signal(harness, LINE)
    before = (await state(harness), await count(harness, SignalUpdate))
    status, answer = await _update(harness, admin, signal_id, body)
    assert (status, answer["error"]["code"], answer["error"]["field"]) == (400, code, field)
    assert (await state(harness), await count(harness, SignalUpdate)) == before


async def test_an_update_to_no_signal_is_404_or_400(harness: Harness) -> None:
    admin = await _admin(harness)
    async with harness.session() as session, session.begin():
        from bot.signals import service as signals
        from bot.signals.syntax import parse_signal

        draft = await signals.create_draft(session, parse_signal(LINE), ADMIN_ID)
    for signal_id, expected in ((draft.id, 404), (99999, 404), ("x1", 400), ("²", 400)):
        status, answer = await _update(harness, admin, signal_id, {"kind": "tp1"})
        assert status == expected, answer
    assert await count(harness, SignalUpdate) == 0


# --- only admins ------------------------------------------------------------------------------


async def test_everyone_but_the_admins_gets_403_and_changes_nothing(harness: Harness) -> None:
    await give_access(harness, SUBSCRIBERS[0])
    signal_id = await publish_signal(harness, LINE)
    subscriber = await login(harness, {"id": SUBSCRIBERS[0], "first_name": "Sam"})
    before = (await state(harness), await count(harness, Signal))
    for method, path, body in (
        ("POST", "/api/v1/admin/signals/preview", {"signal": FORM}),
        ("POST", "/api/v1/admin/signals", {"signal": FORM}),
        ("GET", "/api/v1/admin/signals", None),
        ("GET", f"/api/v1/admin/signals/{signal_id}", None),
        ("POST", f"/api/v1/admin/signals/{signal_id}/updates", {"kind": "tp1"}),
    ):
        status, payload, _ = await call(harness, method, path, token=subscriber, body=body)
        assert (status, payload["error"]["code"]) == (403, "not_allowed"), path
        status, payload, _ = await call(harness, method, path, body=body)
        assert (status, payload["error"]["code"]) == (401, "unauthorized"), path
    assert (await state(harness), await count(harness, Signal)) == before
    assert await count(harness, SignalUpdate) == 0
