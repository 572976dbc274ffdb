"""Updates that arrive together (a getUpdates batch, overlapping webhooks), through the real
dispatcher: their users are registered in one statement, /status reads in one, and each
update still gets its own answer, in its own user's language. A read records nothing and,
on SQLite, waits for no writer."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import async_sessionmaker

from bot.chat.middlewares import unit_of_work
from bot.texts import CATALOGUE, plain
from db.models import ProcessedUpdate, User
from tests.support.harness import ADMIN_ID, Harness, MakeHarness
from tests.support.helpers import count, give_access, statements
from tests.support.processes import command_update

PAID = [8_100_001, 8_100_002]
NEW = [8_100_010 + i for i in range(10)]


def _count(seen: list[str], fragment: str) -> int:
    return sum(fragment in statement for statement in seen)


async def test_status_from_many_users_at_once_is_one_registration_and_one_read(
    harness: Harness,
) -> None:
    await give_access(harness, *PAID)
    users = PAID + NEW
    with statements(harness) as seen:
        await asyncio.gather(
            *(harness.send_text(user, "/status", first_name=f"Name {user}") for user in users)
        )
    assert _count(seen, "INSERT INTO users") == 1
    assert _count(seen, "FROM entitlements") == 1
    with CATALOGUE.use_locale("en"):
        none, on = plain("status.none"), plain("status.premium_on")
    for user in PAID:
        assert on in harness.last_reply(user).text
    for user in NEW:
        assert harness.last_reply(user).text == none
    async with harness.session() as session:
        for user in users:
            row = await session.get(User, user)
            assert row is not None and row.first_name == f"Name {user}"


async def test_users_registered_together_each_hear_their_own_language(
    harness: Harness,
) -> None:
    chose_spanish, app_in_russian, app_in_english = NEW[:3]
    async with harness.session() as session, session.begin():
        # Chosen with /language in another instance: this one has not heard of them yet.
        session.add(User(id=chose_spanish, first_name="Ana", language="es"))
    senders = {chose_spanish: "en", app_in_russian: "ru", app_in_english: "en"}
    with statements(harness) as seen:
        await asyncio.gather(
            *(
                harness.send_text(user, "/status", language_code=code)
                for user, code in senders.items()
            )
        )
    assert _count(seen, "INSERT INTO users") == 1
    for user, language in ((chose_spanish, "es"), (app_in_russian, "ru"), (app_in_english, "en")):
        with CATALOGUE.use_locale(language):
            assert harness.last_reply(user).text == plain("status.none")


async def test_a_read_records_no_update(harness: Harness) -> None:
    await harness.send_text(NEW[0], "/help")  # registered: the next update writes nothing
    before = await count(harness, ProcessedUpdate)
    with statements(harness) as seen:
        await harness.send_text(NEW[0], "/status")
    assert await count(harness, ProcessedUpdate) == before
    assert not [s for s in seen if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]


async def test_a_known_user_costs_no_statement_for_help_and_one_read_for_status(
    harness: Harness,
) -> None:
    await harness.send_text(NEW[0], "/help")  # registered, language known
    with statements(harness) as seen:
        await harness.send_text(NEW[0], "/help")
    assert seen == []
    with statements(harness) as seen:
        await harness.send_text(NEW[0], "/status")
    control = ("BEGIN", "COMMIT", "ROLLBACK", "RELEASE", "SAVEPOINT")
    queries = [s for s in seen if not s.lstrip().upper().startswith(control)]
    assert len(queries) == 1 and queries[0].lstrip().upper().startswith("SELECT"), seen
    assert "entitlements" in queries[0]


async def test_status_answers_while_another_process_holds_the_sqlite_write_lock(
    harness: Harness, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's file lock (PostgreSQL readers never wait for writers)")
    await harness.send_text(NEW[0], "/help")  # registered, so /status only reads
    path = make_url(database_url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # a webhook instance or a worker writing
    try:
        await asyncio.wait_for(harness.send_text(NEW[0], "/status"), timeout=3)
    finally:
        other.execute("ROLLBACK")
        other.close()
    with CATALOGUE.use_locale("en"):
        assert harness.last_reply(NEW[0]).text == plain("status.none")


async def test_hostile_names_in_one_batch_are_cleaned_and_every_update_answered(
    harness: Harness,
) -> None:
    names = {
        NEW[0]: "A\x00B\x1fC",  # control characters
        NEW[1]: "Z" * 10_000,  # far over the column
        NEW[2]: "\ud800lone surrogate",
        NEW[3]: "Имя 名前 🚀 \u202eRTL",
        NEW[4]: "",
    }
    with statements(harness) as seen:
        await asyncio.gather(
            *(harness.send_text(user, "/status", first_name=name) for user, name in names.items())
        )
    assert _count(seen, "INSERT INTO users") == 1
    with CATALOGUE.use_locale("en"):
        none = plain("status.none")
    async with harness.session() as session:
        stored = {user: (await session.get(User, user)) for user in names}
    assert {user: row.first_name if row else None for user, row in stored.items()} == {
        NEW[0]: "ABC",
        NEW[1]: "Z" * 256,
        NEW[2]: "lone surrogate",
        NEW[3]: "Имя 名前 🚀 \u202eRTL",
        NEW[4]: "",
    }
    for user in names:
        assert harness.last_reply(user).text == none


WEBHOOK_SECRET = "together-secret"


async def _post_update(harness: Harness, update_id: int, user: int) -> int:
    update = command_update(
        user, "/help", update_id=update_id, message_id=update_id, first_name="Eve"
    )
    async with harness.http.post(
        harness.base_url + "/telegram/webhook",
        data=json.dumps(update).encode(),
        headers={"X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET},
    ) as response:
        return response.status


async def test_webhook_updates_together_are_looked_up_and_recorded_in_one_statement_each(
    make_harness: MakeHarness,
) -> None:
    hook = await make_harness(
        public_url="https://bot.example.test", telegram_webhook_secret=WEBHOOK_SECRET
    )
    updates = {9_000 + i: user for i, user in enumerate(NEW)}
    with statements(hook) as seen:
        answers = await asyncio.gather(
            *(_post_update(hook, u, user) for u, user in updates.items())
        )
    assert answers == [200] * len(updates)
    # Requests over ten connections may reach the loop in more than one turn: batched
    # means far fewer statements than updates (one each without the coalescing).
    assert 1 <= _count(seen, "SELECT processed_updates") <= len(updates) // 2
    assert 1 <= _count(seen, "INSERT INTO processed_updates") <= len(updates) // 2
    assert await count(hook, ProcessedUpdate) == len(updates)
    assert all(len(hook.replies(user)) == 1 for user in NEW)
    # Telegram sends them all again (its answers were lost): each is skipped, once more
    # in one look-up, and nobody hears twice.
    again = await asyncio.gather(*(_post_update(hook, u, user) for u, user in updates.items()))
    assert again == [200] * len(updates)
    assert all(len(hook.replies(user)) == 1 for user in NEW)
    assert await count(hook, ProcessedUpdate) == len(updates)


async def test_the_first_record_of_a_run_forgets_records_older_than_two_days(
    make_harness: MakeHarness,
) -> None:
    hook = await make_harness(
        public_url="https://bot.example.test", telegram_webhook_secret=WEBHOOK_SECRET
    )
    now = datetime.now(UTC)
    async with hook.session() as session, session.begin():
        session.add(ProcessedUpdate(update_id=1, processed_at=now - timedelta(days=3)))
        session.add(ProcessedUpdate(update_id=2, processed_at=now - timedelta(days=1)))
    assert await _post_update(hook, 9_100, NEW[0]) == 200
    async with hook.session() as session:
        kept = set(await session.scalars(select(ProcessedUpdate.update_id)))
    assert kept == {2, 9_100}


async def test_a_read_leaves_the_due_prune_to_the_next_write(harness: Harness) -> None:
    """With long polling a read records nothing, so it cannot prune: the first update of
    the run being a read must not put the prune off for another PRUNE_EVERY_SECONDS."""
    async with harness.session() as session, session.begin():
        session.add(
            ProcessedUpdate(update_id=1, processed_at=datetime.now(UTC) - timedelta(days=3))
        )
    await harness.send_text(NEW[0], "/status")  # the run's first update: the prune is due
    assert await count(harness, ProcessedUpdate) == 1
    await harness.send_text(ADMIN_ID, f"/grant {NEW[0]} 7")  # the first write prunes
    async with harness.session() as session:
        kept = set(await session.scalars(select(ProcessedUpdate.update_id)))
    assert 1 not in kept and len(kept) == 1


def test_the_first_unit_prunes_however_long_the_machine_has_been_up(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Monotonic time counts from boot: on a machine up for ten seconds the first unit of a
    # run must still prune, and the next one only PRUNE_EVERY_SECONDS later.
    clock = [10.0]
    monkeypatch.setattr(unit_of_work.time, "monotonic", lambda: clock[0])
    middleware = unit_of_work.UnitOfWorkMiddleware(async_sessionmaker())
    assert middleware._prune_due()
    clock[0] += unit_of_work.PRUNE_EVERY_SECONDS - 1
    assert not middleware._prune_due()
    clock[0] += 1
    assert middleware._prune_due()
