"""Process-wide change counters, bumped when a transaction that changed a topic commits.

In-memory caches (the Mini App's feed and access caches) compare a counter with the one
they loaded under, so a change made in this process is visible to the next request, never
a stale copy. Counting happens after COMMIT: a reader that started before it reloads.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Session

FEED = "feed"  # published signals and their status
ENTITLEMENTS = "entitlements"  # who has access

_KEY = "signaldesk.changes"
_versions: Counter[str] = Counter()


def mark(session: AsyncSession, *topics: str) -> None:
    """Note that the session's current transaction changes these topics."""
    session.info.setdefault(_KEY, set()).update(topics)


def version(topic: str) -> int:
    return _versions[topic]


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    for topic in session.info.pop(_KEY, ()):
        _versions[topic] += 1


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_KEY, None)
