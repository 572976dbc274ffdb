"""A user's data as one JSON document (/mydata), pure: from the records loaded for them to
bytes, each list bounded and the whole bounded too (docs/consents.md#mydata)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

FORMAT = "signaldesk.mydata/1"
# At most this many entries of a list (newest kept), and this many bytes in all: far more
# than a subscriber makes in years, and a file Telegram takes (50 MB) in a second.
MAX_ITEMS = 500
MAX_BYTES = 1_000_000

Record = Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the database holds about one user, as plain records."""

    user_id: int
    profile: Record | None
    entitlements: Sequence[Record] = ()
    stripe_customer: str | None = None
    star_payments: Sequence[Record] = ()
    consents: Sequence[Record] = ()
    referred_by: Record | None = None
    referred: Sequence[Record] = ()
    premium_chats: Sequence[Record] = ()
    audit: Sequence[Record] = ()
    pending_messages: int = 0
    truncated: list[str] = field(default_factory=list)


def _value(value: object) -> object:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_value(v) for v in value]
    return value


def _bounded(name: str, rows: Sequence[Record], cut: list[str], limit: int) -> list[object]:
    if len(rows) > limit:
        cut.append(name)
    return [_value(row) for row in rows[-limit:]] if limit else []


def document(loaded: Loaded, now: datetime, *, limit: int = MAX_ITEMS) -> dict[str, Any]:
    """The export as a JSON-ready dict; lists longer than `limit` keep their newest."""
    cut = list(loaded.truncated)
    profile = _value(loaded.profile) if loaded.profile is not None else None
    return {
        "format": FORMAT,
        "exported_at": now.isoformat(),
        "telegram_user_id": loaded.user_id,
        "profile": profile,
        "subscription": {
            "entitlements": _bounded("entitlements", loaded.entitlements, cut, limit),
        },
        "payments": {
            "stripe": {"customer_id": loaded.stripe_customer},
            "telegram_stars": _bounded("star_payments", loaded.star_payments, cut, limit),
        },
        "consents": _bounded("consents", loaded.consents, cut, limit),
        "referrals": {
            "referred_by": _value(loaded.referred_by) if loaded.referred_by else None,
            "referred": _bounded("referred", loaded.referred, cut, limit),
        },
        "premium_chats": _bounded("premium_chats", loaded.premium_chats, cut, limit),
        "messages_waiting": loaded.pending_messages,
        "audit": _bounded("audit", loaded.audit, cut, limit),
        "truncated": sorted(set(cut)),
    }


def encode(loaded: Loaded, now: datetime, *, max_bytes: int = MAX_BYTES) -> bytes:
    """The document as UTF-8 JSON within `max_bytes`: lists are halved until it fits."""
    limit = MAX_ITEMS
    while True:
        data = json.dumps(
            document(loaded, now, limit=limit), ensure_ascii=False, indent=1, sort_keys=False
        ).encode()
        if len(data) <= max_bytes or limit == 0:
            return data
        limit //= 2
