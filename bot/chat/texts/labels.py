"""Codes the database keeps (an entitlement's source, an outbox row's kind and status) in
the reader's words. A code the catalogue does not know shows as it is, never an error."""

from __future__ import annotations

from bot.chat.texts import plain

# The catalogue's ids, spelled out (tests/test_texts.py finds every id in the code).
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
_KINDS = {
    "access_started": "kind.access_started",
    "access_ended": "kind.access_ended",
    "access_expired": "kind.access_expired",
    "access_ending": "kind.access_ending",
    "access_suspended": "kind.access_suspended",
    "access_revoked": "kind.access_revoked",
    "payment_failed": "kind.payment_failed",
    "renewal_notice": "kind.renewal_notice",
    "grant": "kind.grant",
    "winback_offer": "kind.winback_offer",
    "referral_bonus": "kind.referral_bonus",
    "referral_bonus_taken_back": "kind.referral_bonus_taken_back",
    "premium_invite": "kind.premium_invite",
    "premium_removed": "kind.premium_removed",
    "premium_declined": "kind.premium_declined",
    "premium_audit": "kind.premium_audit",
    "mass_held": "kind.mass_held",
    "stars_renewed": "kind.stars_renewed",
    "stars_refunded": "kind.stars_refunded",
    "stars_duplicate_refunded": "kind.stars_duplicate_refunded",
    "broadcast": "kind.broadcast",
    "reply": "kind.reply",
    "signal": "kind.signal",
    "signal_update": "kind.signal_update",
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
    return _label(_KINDS, kind)
