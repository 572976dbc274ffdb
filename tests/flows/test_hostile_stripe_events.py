"""Malformed but validly signed Stripe events: fields of the wrong type, size or shape, by
hand and arbitrary (hypothesis). Each is a 400 or applied, never a 5xx, never a traceback,
and a refused one changes nothing."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.flows.hostile_helpers import _json_values, assert_no_error_logs
from tests.support.fakes.stripe_api import make_event
from tests.support.harness import Harness
from tests.support.helpers import give_access, state, subscription_for


def _event_with(
    path: list[str | int], value: Any, kind: str = "customer.subscription.updated"
) -> dict[str, Any]:
    sub = subscription_for(7301)
    obj = sub if kind.startswith("customer") else _invoice()
    event = make_event(kind, obj, created=int(time.time()))
    node: Any = event
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return event


def _invoice() -> dict[str, Any]:
    return {
        "id": "in_1",
        "object": "invoice",
        "customer": "cus_test_1",
        "amount_due": 4900,
        "currency": "usd",
        "parent": {"subscription_details": {"subscription": "sub_test_1"}},
        "lines": {"data": [{"period": {"end": int(time.time()) + 86400}}]},
        "metadata": {},
    }


MALFORMED: list[tuple[str, bytes | dict[str, Any]]] = [
    ("data is a string", _event_with(["data"], "nope")),
    ("data.object is a list", _event_with(["data", "object"], [1, 2])),
    ("created is text", _event_with(["created"], "abc")),
    ("created is a list", _event_with(["created"], [1])),
    ("created is a float", _event_with(["created"], 1.5)),
    ("created is huge", _event_with(["created"], 10**30)),
    ("created is negative", _event_with(["created"], -5)),
    ("type is a number", _event_with(["type"], 5)),
    ("id is missing", {k: v for k, v in _event_with(["id"], "x").items() if k != "id"}),
    ("subscription id missing", _event_with(["data", "object", "id"], None)),
    ("subscription id too long", _event_with(["data", "object", "id"], "sub_" + "x" * 300)),
    ("subscription id with NUL", _event_with(["data", "object", "id"], "sub_\u0000")),
    ("status is an object", _event_with(["data", "object", "status"], {"a": 1})),
    (
        "period end is text",
        _event_with(["data", "object", "items", "data", 0, "current_period_end"], "soon"),
    ),
    (
        "period end is far future",
        _event_with(["data", "object", "items", "data", 0, "current_period_end"], 10**20),
    ),
    (
        "period end is a bool",
        _event_with(["data", "object", "items", "data", 0, "current_period_end"], True),
    ),
    ("items is a string", _event_with(["data", "object", "items"], "items")),
    ("items.data holds a number", _event_with(["data", "object", "items", "data"], [7])),
    ("price is a number", _event_with(["data", "object", "items", "data", 0, "price"], 12)),
    ("metadata is a list", _event_with(["data", "object", "metadata"], ["telegram_user_id"])),
    (
        "metadata value is a number",
        _event_with(["data", "object", "metadata"], {"telegram_user_id": 7301}),
    ),
    ("cancel flag is text", _event_with(["data", "object", "cancel_at_period_end"], "yes")),
    ("customer is a number", _event_with(["data", "object", "customer"], 42)),
    (
        "invoice amount is text",
        _event_with(["data", "object", "amount_due"], "49", "invoice.payment_failed"),
    ),
    (
        "invoice amount is negative",
        _event_with(["data", "object", "amount_due"], -1, "invoice.payment_failed"),
    ),
    (
        "invoice currency is a list",
        _event_with(["data", "object", "currency"], ["usd"], "invoice.payment_failed"),
    ),
    ("invoice lines is a string", _event_with(["data", "object", "lines"], "x", "invoice.paid")),
    (
        "invoice line period is a list",
        _event_with(["data", "object", "lines", "data", 0, "period"], [], "invoice.paid"),
    ),
    (
        "invoice parent is a string",
        _event_with(["data", "object", "parent"], "sub_1", "invoice.paid"),
    ),
    (
        "invoice parent subscription is a number",
        _event_with(
            ["data", "object", "parent", "subscription_details", "subscription"], 5, "invoice.paid"
        ),
    ),
    ("NaN", b'{"id": "evt_1", "type": "invoice.paid", "created": NaN, "data": {"object": {}}}'),
    (
        "Infinity",
        b'{"id": "evt_1", "type": "invoice.paid", "created": Infinity, "data": {"object": {}}}',
    ),
    ("not JSON", b"{nope"),
    ("a list", b"[]"),
    ("invalid UTF-8", b'{"id": "\xff"}'),
]


@pytest.mark.parametrize(("what", "event"), MALFORMED, ids=[m[0] for m in MALFORMED])
async def test_signed_but_malformed_events_are_400_and_change_nothing(
    harness: Harness,
    caplog: pytest.LogCaptureFixture,
    what: str,
    event: bytes | dict[str, Any],
) -> None:
    body = event if isinstance(event, bytes) else json.dumps(event).encode()
    before = await state(harness)
    status, answer = await harness.post_event(body)
    assert status == 400, (what, answer)
    assert answer["error"]["code"] == "invalid_webhook"
    assert await state(harness) == before
    assert_no_error_logs(caplog)


_PATHS: list[list[str | int]] = [
    ["created"],
    ["data"],
    ["data", "object"],
    ["data", "object", "id"],
    ["data", "object", "status"],
    ["data", "object", "customer"],
    ["data", "object", "items"],
    ["data", "object", "items", "data"],
    ["data", "object", "items", "data", 0],
    ["data", "object", "items", "data", 0, "current_period_end"],
    ["data", "object", "items", "data", 0, "price"],
    ["data", "object", "metadata"],
    ["data", "object", "cancel_at_period_end"],
    ["data", "object", "current_period_end"],
]


def _mutations() -> list[bytes]:
    """Valid subscription events with one field replaced by arbitrary JSON (hypothesis)."""
    found: list[bytes] = []

    @settings(
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.sampled_from(_PATHS), _json_values)
    def collect(path: list[str | int], value: Any) -> None:
        found.append(json.dumps(_event_with(path, value)).encode())

    collect()
    return found


async def test_arbitrary_field_values_never_give_500(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    await give_access(harness, 7301)
    for index, body in enumerate(_mutations()):
        event = json.loads(body)
        event["id"] = f"evt_mutation_{index}"
        payload = json.dumps(event).encode()
        before = await state(harness)
        status, answer = await harness.post_event(payload)
        assert status in (200, 400), (status, answer, payload[:300])
        if status == 400:
            assert await state(harness) == before
    assert_no_error_logs(caplog)
