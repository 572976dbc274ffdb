# ruff: noqa: F811 - `hook` is a fixture imported from hostile_helpers.py
"""Hostile bodies and paths on every route: deeply nested, unstorable text, NaN and
Infinity, a chunked body over the cap, long or strange paths, half-sent headers, and
arbitrary bodies (hypothesis) on the JSON routes. Each gets the answer other bad input of
its kind gets (400, 404, 413), never a 5xx, never a traceback, and changes nothing."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.signals.form import FIELDS
from db.models import Signal, SignalUpdate
from tests.flows.hostile_helpers import (
    TG_HEADER,
    TG_SECRET,
    _json_values,
    assert_no_error_logs,
    hook,  # noqa: F401 - a fixture
)
from tests.support import raw_http
from tests.support.fakes.stripe_api import sign_payload
from tests.support.harness import ADMIN_ID, BOT_TOKEN, WEBHOOK_SECRET, Harness, MakeHarness
from tests.support.helpers import count, publish_signal, state
from tests.support.initdata import sign_init_data
from webapp.signal_forms import UPDATE_FIELDS

ADMIN = {"id": ADMIN_ID, "first_name": "Admin"}
NESTED = b"[" * 5000 + b"]" * 5000
NESTED_OBJECT = b'{"a":' * 2500 + b"1" + b"}" * 2500  # under the 16 KB body cap


async def _token(harness: Harness, user: dict[str, Any]) -> str:
    async with harness.http.post(
        harness.base_url + "/api/v1/miniapp/exchange-initdata",
        json={"init_data": sign_init_data(BOT_TOKEN, user)},
    ) as response:
        assert response.status == 200
        token: str = (await response.json())["token"]
        return token


def _signed(body: bytes) -> dict[str, str]:
    return {
        "Stripe-Signature": sign_payload(body, WEBHOOK_SECRET),
        "Content-Type": "application/json",
    }


# --- bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("nested", [NESTED, NESTED_OBJECT], ids=["array", "object"])
async def test_deeply_nested_json_is_400_everywhere(
    hook: Harness, caplog: pytest.LogCaptureFixture, nested: bytes
) -> None:
    admin = await _token(hook, ADMIN)
    before = await state(hook)
    requests: list[tuple[str, dict[str, str]]] = [
        ("/api/v1/miniapp/exchange-initdata", {}),
        ("/api/v1/admin/signals/preview", {"Authorization": f"Bearer {admin}"}),
        ("/api/v1/admin/signals", {"Authorization": f"Bearer {admin}"}),
        ("/api/v1/admin/signals/1/updates", {"Authorization": f"Bearer {admin}"}),
        ("/stripe/webhook", _signed(nested)),
        ("/telegram/webhook", {TG_HEADER: TG_SECRET}),
    ]
    for path, headers in requests:
        answer = await raw_http.request(hook.base_url, "POST", path, headers=headers, body=nested)
        assert answer.status == 400, (path, answer.body)
    assert await state(hook) == before
    assert_no_error_logs(caplog)


@pytest.mark.parametrize(
    "note", ["\\ud800 lone", "tail \\udfff", "nul \\u0000 here", "bell \\u0007"], ids=str
)
async def test_unstorable_text_in_a_signal_note_is_400(
    harness: Harness, caplog: pytest.LogCaptureFixture, note: str
) -> None:
    admin = await _token(harness, ADMIN)
    before = await count(harness, Signal)
    signal_id = await publish_signal(harness, "BTCUSDT long entry 2 sl 1 tp 3")
    updates = await count(harness, SignalUpdate)
    # Written as JSON escapes, which json.loads turns into the characters themselves.
    line = ('{"text": "BTCUSDT long entry 2 sl 1 tp 3 note ' + note + '"}').encode()
    form = (
        '{"signal": {"symbol": "BTCUSDT", "side": "long", "entry": ["2"], "stop_loss": "1",'
        ' "take_profits": ["3"], "note": "' + note + '"}}'
    ).encode()
    requests = [
        ("/api/v1/admin/signals", line),
        ("/api/v1/admin/signals/preview", line),
        ("/api/v1/admin/signals", form),
        ("/api/v1/admin/signals/preview", form),
        (
            f"/api/v1/admin/signals/{signal_id}/updates",
            b'{"kind": "sl", "note": "' + note.encode() + b'"}',
        ),
    ]
    for path, body in requests:
        answer = await raw_http.request(
            harness.base_url, "POST", path, headers={"Authorization": f"Bearer {admin}"}, body=body
        )
        assert answer.status == 400, answer.body
    assert await count(harness, Signal) == before + 1
    assert await count(harness, SignalUpdate) == updates
    assert_no_error_logs(caplog)


@pytest.mark.parametrize(
    "signal_id", ["%00", "9" * 300, "%C3%A9", "-1", "0", "1.5", "%EF%BC%91", "2147483648"]
)
async def test_strange_signal_ids_are_400_or_404(
    harness: Harness, caplog: pytest.LogCaptureFixture, signal_id: str
) -> None:
    admin = await _token(harness, ADMIN)
    await publish_signal(harness, "BTCUSDT long entry 2 sl 1 tp 3")
    before = (await state(harness), await count(harness, SignalUpdate))
    headers = {"Authorization": f"Bearer {admin}"}
    for method, path, body in (
        ("GET", f"/api/v1/admin/signals/{signal_id}", b""),
        ("POST", f"/api/v1/admin/signals/{signal_id}/updates", b'{"kind": "sl"}'),
    ):
        answer = await raw_http.request(harness.base_url, method, path, headers=headers, body=body)
        assert answer.status in (400, 404), (path, answer.status, answer.body)
    assert (await state(harness), await count(harness, SignalUpdate)) == before
    assert_no_error_logs(caplog)


async def test_nan_and_infinity_are_not_json(harness: Harness) -> None:
    admin = await _token(harness, ADMIN)
    for body in (b'{"text": NaN}', b'{"text": Infinity}', b'{"text": -Infinity}'):
        answer = await raw_http.request(
            harness.base_url,
            "POST",
            "/api/v1/admin/signals/preview",
            headers={"Authorization": f"Bearer {admin}"},
            body=body,
        )
        assert answer.status == 400


async def test_chunked_stripe_body_over_the_cap_is_413(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    body = b'{"id": "evt_x", "pad": "' + b"x" * (600 * 1024) + b'"}'
    before = await state(harness)
    answer = await raw_http.request(
        harness.base_url, "POST", "/stripe/webhook", headers=_signed(body), body=body, chunked=True
    )
    assert answer.status == 413
    assert await state(harness) == before
    assert_no_error_logs(caplog)


@pytest.mark.parametrize(
    "path",
    [
        "/app/" + "a" * 300,
        "/app/" + "a" * 300 + "/b",
        "/app/%00",
        "/app/..%2f..%2fdb/models.py",
        "/app/" + "é" * 200,
        "/app/index.html/" + "x" * 4000,
    ],
)
async def test_long_or_strange_app_paths_are_404(
    harness: Harness, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    answer = await raw_http.request(harness.base_url, "GET", path)
    assert answer.status in (400, 404), answer.status
    assert_no_error_logs(caplog)
    assert len(caplog.text) < 2000  # a line or two at most, not a traceback per request


async def test_app_files_are_still_served(harness: Harness) -> None:
    for path in ("/app/", "/app/js/main.js", "/app/app.css"):
        answer = await raw_http.request(harness.base_url, "GET", path)
        assert answer.status == 200, path


async def test_half_sent_headers_are_cut_off(make_harness: MakeHarness) -> None:
    # The production server waits HTTP_IDLE_TIMEOUT (20 s); this one a fraction of it, so
    # that the test need not. The mechanism (aiohttp's keep-alive timer) is the same.
    harness = await make_harness(http_idle_timeout=0.3)
    reader, writer = await raw_http.open_half_request(harness.base_url)
    try:
        # EOF, not a response: the server closed a request that never finished.
        assert await asyncio.wait_for(reader.read(), 10) == b""
    finally:
        writer.close()


# --- JSON routes, arbitrary bodies ----------------------------------------------------------


def _bodies() -> list[bytes]:
    found: list[bytes] = []
    keys = ["text", "price_id", "init_data", "signal", *UPDATE_FIELDS]
    # A composer's signal with arbitrary fields (of its own and others).
    fields = st.dictionaries(st.sampled_from([*FIELDS, "size"]), _json_values, max_size=9)

    @settings(database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            _json_values.map(lambda v: json.dumps(v).encode()),
            st.dictionaries(st.sampled_from(keys), _json_values).map(
                lambda v: json.dumps(v).encode()
            ),
            fields.map(lambda v: json.dumps({"signal": v}).encode()),
            st.binary(max_size=64),
        )
    )
    def collect(body: bytes) -> None:
        found.append(body)

    collect()
    return found


async def test_arbitrary_bodies_on_json_routes_never_give_500(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    admin = await _token(harness, ADMIN)
    signal_id = await publish_signal(harness, "BTCUSDT long entry 2 sl 1 tp 3 4 5 6 7 8 9")
    routes = [
        "/api/v1/miniapp/exchange-initdata",
        "/api/v1/billing/checkout",
        "/api/v1/admin/signals/preview",
        "/api/v1/admin/signals",
        f"/api/v1/admin/signals/{signal_id}/updates",
    ]
    for body in _bodies():
        for path in routes:
            before = await state(harness)
            answer = await raw_http.request(
                harness.base_url,
                "POST",
                path,
                headers={"Authorization": f"Bearer {admin}"},
                body=body,
            )
            assert answer.status < 500, (path, body, answer.body)
            if answer.status >= 400:
                assert await state(harness) == before
    assert_no_error_logs(caplog)
