"""Hostile input on POST /alerts/tradingview/<secret> (tests/flows/test_hostile_input.py's
rules for a route of its own): strange secrets in the path, and bodies of any shape with
the right one. Never a 5xx or a traceback; a wrong secret changes nothing and is logged
nowhere; a refused body makes no signal (its one trace is the admins' notice of it)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.notices.kinds import NoticeKind
from db.models import OutboxMessage, Signal
from tests.support import raw_http
from tests.support.harness import Harness, MakeHarness
from tests.support.helpers import count, outbox, state

SECRET = "tv_Secret-for-the-hostile-tests-77"
BASE = "/alerts/tradingview/"
NESTED = b'{"signal":' * 2000 + b'"x"' + b"}" * 2000


@pytest.fixture
async def alerts(make_harness: MakeHarness, monkeypatch: pytest.MonkeyPatch) -> Harness:
    monkeypatch.setattr("webapp.tradingview.ALERT_BURST", 100_000)  # the rate is not tested here
    return await make_harness(tradingview_secret=SECRET)


def assert_no_error_logs(caplog: pytest.LogCaptureFixture) -> None:
    bad = [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_text]
    assert bad == [], [r.getMessage() for r in bad]


@pytest.mark.parametrize(
    "path",
    [
        BASE.encode() + b"\xff\xfe",
        BASE + "é" * 40,
        BASE + "a" * 5000,
        BASE + "%00",
        BASE + "%2e%2e",
        BASE + SECRET + "/more",
        BASE + SECRET + "%20",
        BASE + SECRET[:-1] + "%C3%A9",
        BASE,
        BASE.rstrip("/"),
    ],
)
async def test_strange_secrets_in_the_path_are_404_and_change_nothing(
    alerts: Harness, caplog: pytest.LogCaptureFixture, path: str | bytes
) -> None:
    caplog.set_level(logging.DEBUG)
    before = await state(alerts), await count(alerts, Signal)
    answer = await raw_http.request(
        alerts.base_url, "POST", path, body=b"BTCUSDT long entry 2 sl 1 tp 3"
    )
    assert answer.status in (400, 404), (path, answer.status)
    assert (await state(alerts), await count(alerts, Signal)) == before
    assert_no_error_logs(caplog)
    assert SECRET[:-1] not in caplog.text


@pytest.mark.parametrize(
    "body",
    [
        NESTED,
        b'{"signal": "BTCUSDT long entry 2 sl 1 tp 3 note \\ud800"}',
        b'{"signal": "BTCUSDT long entry 2 sl 1 tp 3 note \\u0007"}',
        b'{"signal": 1e999}',
        b'{"signal": Infinity}',
        b'{"signal": {"signal": "BTCUSDT long entry 2 sl 1 tp 3"}}',
        "BTCUSDT long entry ６５０００ sl 1 tp 3".encode(),
        b"BTCUSDT long entry 2 sl 1 tp 3 note \x00",
        b"BTCUSDT long entry 2 sl 1 tp " + b"3 " * 3000,
        b"\xef\xbb\xbfBTCUSDT long entry 2 sl 1 tp 3",
        b"\xff" * 100,
        b"BTCUSDT close 1e5",
        b"BTCUSDT tp99999999999999999999",
        b"9" * 8000 + b" tp1",
    ],
)
async def test_hostile_bodies_are_4xx_and_make_no_signal(
    alerts: Harness, caplog: pytest.LogCaptureFixture, body: bytes
) -> None:
    answer = await raw_http.request(alerts.base_url, "POST", BASE + SECRET, body=body)
    assert 400 <= answer.status < 500, (body[:80], answer.body)
    assert answer.json()["error"]["code"]
    assert await count(alerts, Signal) == 0
    assert {row.kind for row in await outbox(alerts)} <= {NoticeKind.ALERT_PROBLEM}
    assert_no_error_logs(caplog)


async def test_a_chunked_body_over_the_cap_is_413(alerts: Harness) -> None:
    body = b"BTCUSDT long entry 2 sl 1 tp 3 note " + b"x" * 20_000
    answer = await raw_http.request(
        alerts.base_url, "POST", BASE + SECRET, body=body, chunked=True
    )
    assert answer.status == 413
    assert await count(alerts, OutboxMessage) == 0


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def _bodies() -> list[bytes]:
    found: list[bytes] = []

    @settings(database=None, derandomize=True, suppress_health_check=list(HealthCheck))
    @given(
        st.one_of(
            _json_values.map(lambda v: json.dumps(v).encode()),
            st.dictionaries(st.just("signal"), _json_values).map(lambda v: json.dumps(v).encode()),
            st.text(max_size=80).map(str.encode),
            st.binary(max_size=64),
        )
    )
    def collect(body: bytes) -> None:
        found.append(body)

    collect()
    return found


async def test_arbitrary_bodies_never_give_500(
    alerts: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    answers: list[Any] = []
    for body in _bodies():
        answer = await raw_http.request(alerts.base_url, "POST", BASE + SECRET, body=body)
        assert answer.status < 500, (body, answer.body)
        answers.append(answer.status)
    assert await count(alerts, Signal) == answers.count(200)
    assert_no_error_logs(caplog)
