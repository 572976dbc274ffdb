"""Every admin route of the Mini App's API, called as each role (owner, poster, support,
analyst, and a subscriber in none), on both databases: what the role may do answers, the
rest is 403 not_allowed and changes nothing; /me says what the caller may do."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from bot.accounts.roles import Permission
from db.models import Broadcast
from tests.flows.role_helpers import MAY, PEOPLE, SUBSCRIBER, snapshot, with_roles
from tests.support.api_client import call, login
from tests.support.harness import BOT_TOKEN, Harness, MakeHarness
from tests.support.helpers import give_access, publish_signal
from tests.support.initdata import sign_init_data

LINE = "BTCUSDT long entry 65000 sl 63500 tp 67000 69000"
FORM: dict[str, Any] = {
    "symbol": "ETHUSDT",
    "side": "long",
    "entry": ["3400"],
    "stop_loss": "3300",
    "take_profits": ["3500"],
}
POST = frozenset({Permission.POST_SIGNALS})
# (method, path, body, any one of these lets it answer); {signal} and {broadcast} are
# filled in. Each route of /api/v1/admin must be here (the test checks the router).
ROUTES: tuple[tuple[str, str, Any, frozenset[Permission]], ...] = (
    ("GET", "/api/v1/admin/stats", None, frozenset({Permission.READ_STATS})),
    ("GET", "/api/v1/admin/analytics", None, frozenset({Permission.READ_STATS})),
    ("GET", "/api/v1/admin/broadcasts/{broadcast}", None,
     frozenset({Permission.POST_SIGNALS, Permission.BROADCAST})),
    ("POST", "/api/v1/admin/signals/preview", {"signal": FORM}, POST),
    ("POST", "/api/v1/admin/signals", {"signal": FORM}, POST),
    ("GET", "/api/v1/admin/signals", None, POST),
    ("GET", "/api/v1/admin/signals/{signal}", None, POST),
    ("POST", "/api/v1/admin/signals/{signal}/updates", {"kind": "tp1"}, POST),
    ("GET", f"/api/v1/admin/subscribers?q={SUBSCRIBER}", None, frozenset({Permission.LOOK_UP})),
    ("GET", f"/api/v1/admin/subscribers/{SUBSCRIBER}", None, frozenset({Permission.LOOK_UP})),
    ("POST", f"/api/v1/admin/subscribers/{SUBSCRIBER}/refund", {},
     frozenset({Permission.REFUND})),
    ("GET", "/api/v1/admin/exports/subscribers.csv", None, frozenset({Permission.EXPORT})),
    ("GET", "/api/v1/admin/exports/payments.csv", None, frozenset({Permission.EXPORT})),
    ("GET", "/api/v1/admin/exports/signals.csv", None, frozenset({Permission.EXPORT})),
    ("GET", "/api/v1/admin/exports/audit.csv", None, frozenset({Permission.READ_AUDIT})),
    ("GET", "/api/v1/admin/audit", None, frozenset({Permission.READ_AUDIT})),
)  # fmt: skip


def _admin_routes(harness: Harness) -> set[str]:
    """Every /api/v1/admin route the application serves, as METHOD path-pattern."""
    found = set()
    for route in harness.parts.web_app.router.routes():
        path = route.resource.canonical if route.resource else ""
        if path.startswith("/api/v1/admin") and route.method != "HEAD":
            found.add(f"{route.method} {path}")
    return found


def _pattern(method: str, path: str) -> str:
    path = path.split("?", maxsplit=1)[0]
    for name, value in (("{signal}", "{signal_id}"), ("{broadcast}", "{broadcast_id}")):
        path = path.replace(name, value)
    path = path.replace(str(SUBSCRIBER), "{user_id}")
    for kind in ("subscribers", "payments", "signals", "audit"):
        path = path.replace(f"/exports/{kind}.csv", "/exports/{kind}.csv")
    return f"{method} {path}"


async def _ready(harness: Harness) -> tuple[int, int]:
    await give_access(harness, SUBSCRIBER)
    signal_id = await publish_signal(harness, LINE)
    async with harness.session() as session:
        broadcast_id = int(await session.scalar(select(func.max(Broadcast.id))) or 0)
    return signal_id, broadcast_id


@pytest.mark.parametrize("role", list(PEOPLE))
async def test_every_admin_route_as_each_role(make_harness: MakeHarness, role: str) -> None:
    harness = await with_roles(make_harness)
    covered = {_pattern(method, path) for method, path, _, _ in ROUTES}
    assert covered == _admin_routes(harness)
    signal_id, broadcast_id = await _ready(harness)
    token = await login(harness, {"id": PEOPLE[role], "first_name": role.title()})
    for method, template, body, needs in ROUTES:
        path = template.format(signal=signal_id, broadcast=broadcast_id)
        before = await snapshot(harness)
        status, payload, _ = await call(harness, method, path, token=token, body=body)
        if needs.isdisjoint(MAY[role]):
            assert status == 403, (role, path, status, payload)
            assert payload["error"]["code"] == "not_allowed", (role, path)
            assert await snapshot(harness) == before, (role, path)
        else:
            assert status not in (401, 403), (role, path, status, payload)
            assert status < 500, (role, path, status, payload)


@pytest.mark.parametrize("role", list(PEOPLE))
async def test_me_says_what_the_caller_may_do(make_harness: MakeHarness, role: str) -> None:
    harness = await with_roles(make_harness)
    user = {"id": PEOPLE[role], "first_name": role.title()}
    init_data = sign_init_data(BOT_TOKEN, user)
    status, exchanged, _ = await call(
        harness, "POST", "/api/v1/miniapp/exchange-initdata", body={"init_data": init_data}
    )
    assert status == 200
    status, me, _ = await call(harness, "GET", "/api/v1/me", token=exchanged["token"])
    assert status == 200
    expected = sorted(p.value for p in MAY[role])
    assert me["permissions"] == expected == exchanged["permissions"]
    assert me["is_admin"] is (role != "subscriber")


async def test_a_refused_route_reads_no_body(make_harness: MakeHarness) -> None:
    """The permission is checked first: a poster's refund with a hostile body is a 403,
    not a 400 that would tell them the route's rules."""
    harness = await with_roles(make_harness)
    await _ready(harness)
    token = await login(harness, {"id": PEOPLE["poster"], "first_name": "Poe"})
    before = await snapshot(harness)
    status, payload, _ = await call(
        harness, "POST", f"/api/v1/admin/subscribers/{SUBSCRIBER}/refund", token=token,
        raw=b"\xff{not json",
    )  # fmt: skip
    assert (status, payload["error"]["code"]) == (403, "not_allowed")
    assert await snapshot(harness) == before
