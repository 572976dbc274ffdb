"""/revoke and /user: an admin takes free access back (the user is told why) and reads one
subscriber's timeline; every bad argument gets a reply naming it and changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest

from bot.accounts.access import has_access
from db.models import Entitlement, EntitlementSource, User
from tests.support.api_client import call, login
from tests.support.harness import ADMIN_ID, Harness
from tests.support.helpers import give_access, state

ANN = 6_400_001


async def _grant(harness: Harness, user_id: int = ANN) -> None:
    await harness.send_text(ADMIN_ID, f"/grant {user_id} 30")
    await harness.deliver(wait=5)


async def _registered(harness: Harness, *user_ids: int) -> None:
    """Each has written to the bot once (a first message registers its sender)."""
    for user_id in user_ids:
        await harness.send_text(user_id, "/help")


async def test_revoke_ends_a_grant_now_and_tells_the_user_why(harness: Harness) -> None:
    await _grant(harness)
    await harness.send_text(
        ADMIN_ID, "/revoke 6400001 shared the signals   in a public <b>group</b>"
    )
    assert "grant revoked" in harness.last_reply(ADMIN_ID).text
    async with harness.session() as session:
        assert not await has_access(session, ANN, datetime.now(UTC))
    await harness.deliver(wait=5)
    told = harness.last_reply(ANN).text
    assert "withdrawn: shared the signals in a public &lt;b&gt;group&lt;/b&gt;" in told


async def test_revoke_leaves_stripe_to_stripe_and_says_so(harness: Harness) -> None:
    await give_access(harness, ANN)
    await _registered(harness, ADMIN_ID)
    before = await state(harness)
    await harness.send_text(ADMIN_ID, "/revoke 6400001 abuse")
    assert "pays through Stripe" in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("", "Usage: <code>/revoke USER_ID REASON</code>"),
        ("6400001", "Usage: <code>/revoke USER_ID REASON</code>"),
        ("² abuse", "<code>²</code> is not a Telegram user id"),
        ("0 abuse", "<code>0</code> is not a Telegram user id"),
        ("123456789012345678901 abuse", "is not a Telegram user id"),
        ("6400001 " + "x" * 301, "keep it to 300 characters"),
        ("6400002 abuse", "User 6400002 has no access to revoke."),
    ],
)
async def test_bad_revoke_arguments_are_named_and_change_nothing(
    harness: Harness, args: str, reply: str
) -> None:
    await _grant(harness)
    await _registered(harness, ANN)
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/revoke {args}".strip())
    assert reply in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before
    async with harness.session() as session:
        assert await has_access(session, ANN, datetime.now(UTC))


async def test_revoke_and_user_are_for_admins_only(harness: Harness) -> None:
    await _grant(harness)
    await _registered(harness, ANN)
    before = await state(harness)
    await harness.send_text(ANN, "/revoke 6400001 abuse")
    await harness.send_text(ANN, "/user 6400001")
    assert await state(harness) == before
    assert all("User 6400001" not in m.text for m in harness.replies(ANN))


async def test_user_shows_access_sources_and_the_latest_messages(harness: Harness) -> None:
    await _grant(harness)
    async with harness.session() as session, session.begin():
        session.add(
            Entitlement(
                user_id=ANN,
                source=EntitlementSource.TRIAL,
                status="canceled",
                expires_at=datetime.now(UTC) - timedelta(days=1),
            )
        )
    harness.fake_bot.fail_next("sendMessage", "403", chat_id=ANN)
    await harness.send_text(ADMIN_ID, "/broadcast hello")
    await harness.deliver(wait=5)
    await harness.send_text(ADMIN_ID, "/user 6400001")
    text = harness.last_reply(ADMIN_ID).text
    assert "<b>User 6400001</b>" in text
    assert "Premium: on" in text
    assert "• grant: " in text and "admin:900001" in text
    assert "• free trial: " in text
    assert "announcement: blocked the bot — 403 Forbidden: bot was blocked by the user" in text
    assert "Blocked the bot on" in text
    assert "grant: sent" in text
    assert len(text) <= 4096


@pytest.mark.parametrize(
    ("args", "reply"),
    [
        ("", "Usage: <code>/user USER_ID</code>"),
        ("1 2", "Usage: <code>/user USER_ID</code>"),
        ("abc", "<code>abc</code> is not a Telegram user id"),
        ("6400009", "User 6400009 has never used this bot."),
    ],
)
async def test_bad_user_arguments_are_named(harness: Harness, args: str, reply: str) -> None:
    await _registered(harness, ADMIN_ID)
    before = await state(harness)
    await harness.send_text(ADMIN_ID, f"/user {args}".strip())
    assert reply in harness.last_reply(ADMIN_ID).text
    assert await state(harness) == before
    async with harness.session() as session:
        assert await session.get(User, 6_400_009) is None


# --- the Mini App's subscriber search and timeline -------------------------------------------

ADMIN = {"id": ADMIN_ID, "first_name": "Boss"}


async def _named(harness: Harness, user_id: int, first_name: str, username: str | None) -> None:
    async with harness.session() as session, session.begin():
        await session.merge(User(id=user_id, first_name=first_name, username=username))


async def _found(harness: Harness, token: str, query: str) -> list[int]:
    """The ids the admin's subscriber search finds for `query`."""
    status, body, _ = await call(
        harness, "GET", f"/api/v1/admin/subscribers?q={quote(query)}", token=token
    )
    assert status == 200, body
    return sorted(row["id"] for row in body["subscribers"])


async def test_search_finds_by_id_username_and_name_with_access(harness: Harness) -> None:
    await give_access(harness, 6_400_011)
    await _named(harness, 6_400_011, "Zoë", "trader_zoe")
    await _named(harness, 6_400_012, "Ivan", "ivan100")
    await _named(harness, 6_400_013, "100% Ann", None)
    token = await login(harness, ADMIN)

    async def ids(query: str) -> list[int]:
        return await _found(harness, token, query)

    assert await ids("6400012") == [6_400_012]
    assert await ids("@Trader_") == [6_400_011]  # any case; _ is a letter, not a wildcard
    assert await ids("zoë") == [6_400_011]
    assert await ids("100") == [6_400_012, 6_400_013]
    assert await ids("100%") == [6_400_013]  # % is literal too
    assert await ids("nobody") == []
    status, body, _ = await call(harness, "GET", "/api/v1/admin/subscribers?q=zoe", token=token)
    assert body["subscribers"] == [
        {
            "id": 6_400_011,
            "first_name": "Zoë",
            "username": "trader_zoe",
            "has_access": True,
            "blocked": False,
        }
    ]


async def test_search_ignores_case_in_every_script(harness: Harness) -> None:
    # SQLite's own lower() and LIKE fold ASCII only; PostgreSQL folds every script.
    await _named(harness, 6_400_021, "Анна", "ÉLODIE_fx")
    await _named(harness, 6_400_022, "Ωmega", None)
    token = await login(harness, ADMIN)

    async def ids(query: str) -> list[int]:
        return await _found(harness, token, query)

    assert await ids("анна") == [6_400_021]
    assert await ids("АННА") == [6_400_021]
    assert await ids("@élodie") == [6_400_021]
    assert await ids("ωMEGA") == [6_400_022]
    assert await ids("анн_") == []  # _ still literal


async def test_timeline_matches_what_user_shows_in_chat(harness: Harness) -> None:
    await _grant(harness)
    harness.fake_bot.fail_next("sendMessage", "403", chat_id=ANN)
    await harness.send_text(ADMIN_ID, "/broadcast hello")
    await harness.deliver(wait=5)
    token = await login(harness, ADMIN)
    status, body, _ = await call(harness, "GET", f"/api/v1/admin/subscribers/{ANN}", token=token)
    assert status == 200, body
    assert body["user"]["id"] == ANN and body["has_access"] is True
    assert body["user"]["blocked_at"] is not None
    [grant] = body["entitlements"]
    assert (grant["source"], grant["active"], grant["ref"]) == ("grant", True, f"admin:{ADMIN_ID}")
    kinds = [(e["kind"], e["status"]) for e in body["events"]]
    assert kinds == [("broadcast", "blocked"), ("grant", "sent")]
    assert "bot was blocked by the user" in body["events"][0]["error"]


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        ("/api/v1/admin/subscribers", 400, "bad_request"),
        ("/api/v1/admin/subscribers?q=%20%20", 400, "bad_request"),
        ("/api/v1/admin/subscribers?q=" + "x" * 65, 400, "bad_request"),
        ("/api/v1/admin/subscribers?q=%00abc", 400, "bad_request"),  # NUL: PostgreSQL's 500
        ("/api/v1/admin/subscribers?q=a%1Fb", 400, "bad_request"),
        ("/api/v1/admin/subscribers/%ED%A0%80", 400, "bad_request"),
        ("/api/v1/admin/subscribers/abc", 400, "bad_request"),
        ("/api/v1/admin/subscribers/%C2%B2", 400, "bad_request"),
        ("/api/v1/admin/subscribers/" + "9" * 17, 400, "bad_request"),
        ("/api/v1/admin/subscribers/99999999999999999", 400, "bad_request"),
        ("/api/v1/admin/subscribers/6400009", 404, "not_found"),
    ],
)
async def test_bad_subscriber_requests_are_named_and_change_nothing(
    harness: Harness, path: str, status: int, code: str
) -> None:
    token = await login(harness, ADMIN)
    before = await state(harness)
    got, body, _ = await call(harness, "GET", path, token=token)
    assert (got, body["error"]["code"]) == (status, code)
    assert await state(harness) == before


async def test_subscriber_search_is_for_admins_only(harness: Harness) -> None:
    await _grant(harness)
    token = await login(harness, {"id": ANN, "first_name": "Ann"})
    for path in ("/api/v1/admin/subscribers?q=ann", f"/api/v1/admin/subscribers/{ANN}"):
        status, body, _ = await call(harness, "GET", path, token=token)
        assert (status, body["error"]["code"]) == (403, "not_allowed")
        status, body, _ = await call(harness, "GET", path)
        assert status == 401
