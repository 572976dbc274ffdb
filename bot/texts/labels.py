"""Codes the database keeps (an entitlement's source, an outbox row's kind and status) in
the reader's words. A code the catalogue does not know shows as it is, never an error."""

from __future__ import annotations

from bot.notices.kinds import NoticeKind
from bot.texts import plain
from bot.texts.notices import KINDS

# The catalogue's ids, spelled out (tests/project/test_texts.py finds every id in the code).
_SOURCES = {
    "stripe": "source.stripe",
    "stars": "source.stars",
    "grant": "source.grant",
    "trial": "source.trial",
    "referral": "source.referral",
}
_DELIVERY = {
    "pending": "delivery.pending",
    "sent": "delivery.sent",
    "failed": "delivery.failed",
    "blocked": "delivery.blocked",
    "skipped": "delivery.skipped",
}


def _label(table: dict[str, str], code: str) -> str:
    key = table.get(code)
    return plain(key) if key else code


def source_label(source: str) -> str:
    """Where access comes from: Stripe, Stars, a grant, a trial, a referral."""
    return _label(_SOURCES, source)


def delivery_label(status: str) -> str:
    """An outbox row's state: waiting, sent, failed, blocked, skipped."""
    return _label(_DELIVERY, status)


def kind_label(kind: str) -> str:
    """What an outbox row says: a signal, an update, a billing notice..."""
    try:
        return plain(KINDS[NoticeKind(kind)].label)
    except ValueError:  # a kind of an older version: shown as it is
        return kind
