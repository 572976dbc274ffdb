"""The event plan: exactly --events sends, the lifecycle events of about a fifth as many
subscribers (timeline.py), ~1 % event types the server does not handle, and exact replays
of earlier events, in the order Stripe might deliver them."""

from __future__ import annotations

import json
import time
from collections import Counter
from dataclasses import dataclass
from random import Random

from bench.shared.basics import JSON
from bench.webhooks.stripe_objects import DAY, Ids, unknown_event
from bench.webhooks.timeline import FIRST_USER_ID, user_timeline

# Real Stripe events of one new subscription (created, checkout completed, invoice paid) are
# fired within a second or two and arrive in any order: jitter the send order by this much.
ORDER_JITTER_SECONDS = 3.0
# A redelivered event comes back a little later than the original, sometimes while the
# original is still in flight; measured in queue positions.
DUPLICATE_MAX_LAG = 300


@dataclass(frozen=True, slots=True)
class Send:
    """One POST: the exact body bytes (signed just before sending) and whether it is a replay."""

    event_id: str
    event_type: str
    body: bytes
    duplicate: bool


@dataclass
class Plan:
    sends: list[Send]
    # For the fake Stripe: checkout.session.completed makes the server retrieve these.
    subscriptions: list[JSON]
    users: list[int]
    distinct_ids: int
    duplicates: int
    # Users whose newest event is customer.subscription.deleted: must end up canceled.
    canceled_users: list[int]

    def type_mix(self) -> str:
        counts = Counter(send.event_type for send in self.sends if not send.duplicate)
        return "  ".join(f"{name}={n}" for name, n in sorted(counts.items()))


def build_plan(total: int, duplicate_share: float, seed: int) -> Plan:
    """Exactly `total` sends: lifecycle events for about total/5 users, ~1 % unknown types,
    and `duplicate_share` of exact replays of earlier events (same id, same body)."""
    rng = Random(seed)
    new_id = Ids(rng)
    duplicates = round(total * duplicate_share)
    distinct = total - duplicates
    unknown = distinct // 100 if distinct >= 100 else 0
    budget = distinct - unknown

    now = int(time.time())
    # Sign-ups over the last 3 hours; later events of a user follow within an hour.
    start = now - 4 * 3600
    events: list[JSON] = []
    subscriptions: list[JSON] = []
    users: list[int] = []
    canceled: list[int] = []
    index = 0
    while len(events) < budget:
        signup = start + rng.randint(0, 3 * 3600)
        # Periods end in the future so a new subscriber gains access (and gets a notice).
        period_start = now - rng.randint(0, 5) * DAY
        timeline = user_timeline(rng, new_id, index, signup, period_start)
        kept = timeline.events[: budget - len(events)]  # the last user may be cut short
        events.extend(kept)
        users.append(FIRST_USER_ID + index)
        if timeline.checkout_subscription is not None and any(
            e["type"] == "checkout.session.completed" for e in kept
        ):
            subscriptions.append(timeline.checkout_subscription)
        newest = max(kept, key=lambda e: int(e["created"]))
        if newest["type"] == "customer.subscription.deleted":
            canceled.append(FIRST_USER_ID + index)
        index += 1
    events.extend(unknown_event(rng, new_id, rng.randint(start, now)) for _ in range(unknown))

    keyed = sorted(
        ((int(e["created"]) + rng.uniform(0, ORDER_JITTER_SECONDS), e) for e in events),
        key=lambda pair: pair[0],
    )
    # Stripe sends pretty-printed JSON; the server parses what it would really get.
    originals = [
        Send(e["id"], e["type"], json.dumps(e, indent=2).encode(), duplicate=False)
        for _, e in keyed
    ]
    positioned: list[tuple[float, Send]] = [(float(i), s) for i, s in enumerate(originals)]
    for i in rng.sample(range(len(originals)), min(duplicates, len(originals))):
        replay = Send(originals[i].event_id, originals[i].event_type, originals[i].body, True)
        positioned.append((i + rng.uniform(0.5, DUPLICATE_MAX_LAG), replay))
    positioned.sort(key=lambda pair: pair[0])
    return Plan(
        sends=[s for _, s in positioned],
        subscriptions=subscriptions,
        users=users,
        distinct_ids=len(originals),
        duplicates=min(duplicates, len(originals)),
        canceled_users=canceled,
    )
