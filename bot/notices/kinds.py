"""What an outbox row says: its kind, one NoticeKind, stored as the same string it always
was (a StrEnum, so the rows need no migration), and what delivery must know of each kind.

Producers queue a NoticeKind, never a string literal (bot/notices/outbox.py takes only
this type), with params of the kind's shape (bot/notices/params.py, checked as queued).
The chat adapter gives each kind its words and its label in one registry
(bot/texts/notices.py); tests/project/test_notice_kinds.py holds every kind to having all.
"""

from __future__ import annotations

import enum


class NoticeKind(enum.StrEnum):
    # Access, from any source (billing, Stars, grants, the lifecycle sweeps)
    ACCESS_STARTED = "access_started"
    ACCESS_ENDED = "access_ended"
    ACCESS_EXPIRED = "access_expired"
    ACCESS_ENDING = "access_ending"
    ACCESS_SUSPENDED = "access_suspended"
    ACCESS_REVOKED = "access_revoked"
    PAYMENT_FAILED = "payment_failed"
    RENEWAL_NOTICE = "renewal_notice"
    GRANT = "grant"
    WINBACK_OFFER = "winback_offer"
    REFERRAL_BONUS = "referral_bonus"
    REFERRAL_BONUS_TAKEN_BACK = "referral_bonus_taken_back"
    STARS_RENEWED = "stars_renewed"
    STARS_REFUNDED = "stars_refunded"
    STARS_DUPLICATE_REFUNDED = "stars_duplicate_refunded"
    # Premium chats
    PREMIUM_INVITE = "premium_invite"
    PREMIUM_REMOVED = "premium_removed"
    PREMIUM_DECLINED = "premium_declined"
    # To admins
    PREMIUM_AUDIT = "premium_audit"
    MASS_HELD = "mass_held"
    ALERT_PREVIEW = "alert_preview"  # a TradingView alert's signal, with Send (or held)
    ALERT_PROBLEM = "alert_problem"  # a TradingView alert refused, and why
    # To a chat of the provider's (the signal channel): the verifiable record's daily head
    RECORD_HEAD = "record_head"
    OUTCOME_PROPOSED = "outcome_proposed"  # the exchange's prices show one; Confirm records it
    SYMBOL_UNLISTED = "symbol_unlisted"  # the exchange does not list a signal's symbol
    PAID_LANE_CLOSED = "paid_lane_closed"  # the paid lane's budget or balance ran out
    # Broadcasts (a Broadcast's kind is one of these three too) and handed-over replies
    BROADCAST = "broadcast"
    SIGNAL = "signal"
    SIGNAL_UPDATE = "signal_update"
    REPLY = "reply"  # a chat reply Telegram did not take in time: its words already rendered
    # The signal channel (SIGNAL_CHAT_ID): not premium, its copy needs nobody's access. Its
    # post, the updates threaded under it, a closed result (results mode), and what the
    # admins are told when the bot cannot post there.
    CHANNEL_SIGNAL = "channel_signal"
    CHANNEL_UPDATE = "channel_update"
    CHANNEL_RESULT = "channel_result"
    CHANNEL_PROBLEM = "channel_problem"

    @property
    def premium(self) -> bool:
        """Only subscribers with access may receive it; checked again at send time."""
        return self in _PREMIUM


_PREMIUM = frozenset({NoticeKind.SIGNAL, NoticeKind.SIGNAL_UPDATE})
