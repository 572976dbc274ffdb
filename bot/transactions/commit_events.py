"""Process-wide change counters, bumped when a transaction that changed a topic commits.

In-memory caches (the Mini App's feed and access caches) compare a counter with the one
they loaded under, so a change made in this process is visible to the next request, never
a stale copy. Counting happens after COMMIT: a reader that started before it reloads.
Listeners hear of a commit the same way: the delivery worker is woken once outbox rows are
visible, whichever code path wrote them.

On PostgreSQL the same news reaches every other process (several instances, `python -m bot
worker`): a transaction that changes topics also runs `pg_notify` on CHANNEL, which
PostgreSQL delivers only if and when it commits, and bot.transactions.change_feed listens there and
counts the topics in its own process. So another instance's caches are invalidated at once,
and a worker wakes for outbox rows a webhook instance wrote.
"""

from __future__ import annotations

import os
import uuid
import weakref
from collections import Counter, defaultdict
from typing import Protocol

from sqlalchemy import bindparam, event, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

FEED = "feed"  # published signals and their status
ENTITLEMENTS = "entitlements"  # who has access
OUTBOX = "outbox"  # messages waiting for the delivery worker
USERS = "users"  # a user was marked as having blocked the bot

_KEY = "signaldesk.changes"
_versions: Counter[str] = Counter()
CHANNEL = "signaldesk_changes"
# This process, in every notice it sends, so that its own listener can skip them.
ORIGIN = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"


class Listener(Protocol):
    def notify(self) -> None: ...


# Built once: a commit that changed topics binds its payload, nothing is constructed per commit.
_NOTIFY = select(func.pg_notify(CHANNEL, bindparam("payload")))

# Weak, so a listener (the delivery worker's wake-up signal) goes when its app does.
_listeners: defaultdict[str, weakref.WeakSet[Listener]] = defaultdict(weakref.WeakSet)


def mark(session: AsyncSession, *topics: str) -> None:
    """Note that the session's current transaction changes these topics."""
    session.info.setdefault(_KEY, set()).update(topics)


def version(topic: str) -> int:
    return _versions[topic]


def subscribe(topic: str, listener: Listener) -> None:
    """Call `listener.notify()` after every commit that changed `topic`."""
    _listeners[topic].add(listener)


def changed(topics: set[str] | list[str]) -> None:
    """Count a commit that changed `topics` (this process's, or another's: change_feed)."""
    for topic in topics:
        _versions[topic] += 1
        for listener in list(_listeners[topic]):
            listener.notify()


def _before_commit(session: Session) -> None:
    topics = session.info.get(_KEY)
    if topics and session.get_bind().dialect.name == "postgresql":
        payload = f"{ORIGIN} {','.join(sorted(topics))}"
        session.execute(_NOTIFY, {"payload": payload})


def _after_commit(session: Session) -> None:
    changed(session.info.pop(_KEY, set()))


def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)


def attach(session_class: type[Session]) -> None:
    """Count the commits of sessions of `session_class` (one the composition root made for
    its own factory, bot.transactions.sessions): only the application's sessions, never
    every Session in the process, whatever else imported this module."""
    event.listen(session_class, "before_commit", _before_commit)
    event.listen(session_class, "after_commit", _after_commit)
    event.listen(session_class, "after_rollback", _after_rollback)
