"""The webhook's Core statements under PostgreSQL concurrency (SQLite has one writer)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text

from bot.billing import stripe_store
from db.models import StripeCustomer, User
from tests.support.harness import Harness

X, Y = 7_100_001, 7_100_002


async def _until_one_waits_for_a_lock(harness: Harness) -> None:
    """Until a backend of this database waits for a lock (not a fixed sleep: on a busy
    machine the second statement may not have reached the server yet)."""
    for _ in range(500):
        async with harness.session() as session:
            waiting = await session.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            )
        if waiting:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("no statement ever waited for the lock")


async def _second_claim_waits_for_the_first(
    harness: Harness, first: tuple[int, str], second: tuple[int, str]
) -> None:
    """claim_user(*first) in an open transaction, then claim_user(*second) in another,
    which must wait for a lock the first holds; the first commits, then the second."""
    engine = harness.parts.engine
    async with engine.connect() as one, engine.connect() as other:
        await one.begin()
        await stripe_store.claim_user(one, *first)
        await other.begin()
        waiting = asyncio.create_task(stripe_store.claim_user(other, *second))
        await _until_one_waits_for_a_lock(harness)
        assert not waiting.done()
        await one.commit()
        await asyncio.wait_for(waiting, 5)
        await other.commit()


async def test_a_customer_moved_away_meanwhile_still_leaves_the_user_linked(
    harness: Harness,
) -> None:
    """Event E1 moves customer C from user X to Y while event E2 gives X a new customer D.

    E2 read X's link to C before E1 committed; its UPDATE of that row then matches nothing.
    X must still end up linked to D, not to no customer at all.
    """
    engine = harness.parts.engine
    if engine.dialect.name == "sqlite":
        pytest.skip("one writer at a time: the interleaving cannot happen on SQLite")
    async with harness.session() as session, session.begin():
        session.add_all([User(id=X, first_name="X"), User(id=Y, first_name="Y")])
        await session.flush()
        session.add(StripeCustomer(user_id=X, customer_id="cus_C"))

    # E1 deletes (X, C) and holds that row; E2's UPDATE of it waits for E1's commit.
    await _second_claim_waits_for_the_first(harness, (Y, "cus_C"), (X, "cus_D"))

    async with harness.session() as session:
        rows = await session.execute(select(StripeCustomer.user_id, StripeCustomer.customer_id))
        links = {user_id: customer_id for user_id, customer_id in rows}
    assert links == {X: "cus_D", Y: "cus_C"}


async def test_two_first_events_of_a_new_customer_link_it_once(harness: Harness) -> None:
    """A first payment: checkout.session.completed and customer.subscription.created for a
    customer not linked yet, at once. The second waits for the first's lock on the user,
    then must see the link the first committed, not insert it again (a 500 to Stripe)."""
    engine = harness.parts.engine
    if engine.dialect.name == "sqlite":
        pytest.skip("one writer at a time: the interleaving cannot happen on SQLite")
    async with harness.session() as session, session.begin():
        session.add(User(id=X, first_name="X"))

    # The first links it and holds the user row; the second waits for its commit.
    await _second_claim_waits_for_the_first(harness, (X, "cus_new"), (X, "cus_new"))

    async with harness.session() as session:
        rows = await session.execute(select(StripeCustomer.user_id, StripeCustomer.customer_id))
        assert list(rows) == [(X, "cus_new")]
