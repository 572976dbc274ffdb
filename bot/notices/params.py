"""What each kind of notice carries: one typed shape per NoticeKind, the contract between
the feature that queues a notice (bot/notices/outbox.py) and the renderer that words it at
send time (bot/texts/notices.py).

The params are stored as JSON in the outbox row, so the shapes are TypedDicts of JSON
values (dates as ISO strings, prices as decimal strings). A key marked NotRequired may be
missing: rows queued before it existed still render. The outbox checks every row against
its kind's shape as it is queued (check()), so a producer that drifts from the renderer
fails in its own test, not at send time in production; the renderers are annotated with
the same shapes and tests/project/test_notice_kinds.py holds every kind to having one.
"""

# No `from __future__ import annotations` here: TypedDict reads NotRequired[...] from the
# evaluated annotations; as strings every key would count as required (Python 3.11).
from collections.abc import Mapping
from typing import NotRequired, TypedDict

from bot.notices.kinds import NoticeKind


class AccessStarted(TypedDict):
    plan: NotRequired[str | None]  # Stripe's plan name (the renderer words a missing one)
    source: NotRequired[str]  # "stars" for a Stars payment
    until: str | None
    trial: bool


class AccessEnded(TypedDict):
    plan: str | None


class PaymentFailed(TypedDict):
    amount: int | None
    currency: str | None
    next_attempt: NotRequired[str | None]  # absent in rows from before it was kept


class Plan(TypedDict):
    plan: str | None


class Until(TypedDict):
    until: str | None


class AccessExpired(TypedDict):
    source: str
    plan: str | None
    until: str


class AccessEnding(AccessExpired):
    days: int


class RenewalNotice(TypedDict):
    plan: str | None
    until: str
    days: int
    amount: int | None
    currency: str | None


class Revoked(TypedDict):
    reason: str


class WinbackOffer(TypedDict):
    code: str | None
    until: str


class ReferralBonus(TypedDict):
    days: int
    until: str


class StarsRefunded(TypedDict):
    amount: int
    reason: str
    ended: NotRequired[bool]  # False: an earlier period's payment, access goes on


class StarsAmount(TypedDict):
    amount: int


class PremiumInvite(TypedDict):
    links: list[str]


class Nothing(TypedDict):
    pass


class PremiumAudit(TypedDict):
    checked: int
    removed: int
    failed: int


class MassHeld(TypedDict):
    action: str  # "premium-removals" or "expiry"
    affected: int
    population: int
    share: float
    moved_hours: int | None  # set when the wall clock jumped ahead
    held_at: int  # the hold's time (seconds): the button confirms this one


class RecordHead(TypedDict):
    seq: int  # the chain's newest entry
    hash: str
    count: int  # entries in the chain
    day: str  # the day posted (ISO date, UTC)
    url: str | None  # where the record can be read and checked (PUBLIC_URL's), if known


class OutcomeProposed(TypedDict):
    event: int  # the price event the Confirm button records (bot/outcomes)
    id: int  # the signal
    symbol: str
    side: str
    kind: str  # tp1.., sl
    price: str
    at: str  # the start of the candle that showed it, ISO
    source: str  # the exchange (PRICE_SOURCE)


class SymbolUnlisted(TypedDict):
    symbol: str
    source: str
    signals: list[int]


class PaidLaneClosed(TypedDict):
    reason: str  # budget, balance or refused (bot/delivery/lanes.py)
    sends: int  # paid sends booked today
    tenths: int  # their cost, tenths of a Star
    budget: int | None  # PAID_BROADCAST_DAILY_STARS


class Broadcast(TypedDict):
    text: str


class SignalSpecParams(TypedDict):
    symbol: str
    side: str
    entry_low: str | None
    entry_high: str | None
    stop_loss: str | None
    take_profits: list[str]
    leverage: str | None
    timeframe: str | None
    note: str | None


class Signal(TypedDict):
    id: int
    spec: SignalSpecParams


class SignalUpdate(TypedDict):
    id: int
    symbol: str
    side: str
    kind: str  # the update's kind: tp1, sl, close, cancel, ...
    price: str | None
    note: str | None
    status: str
    closed: bool
    result_pct: str | None
    result_r: str | None


class ChannelResult(SignalUpdate):
    spec: SignalSpecParams
    bot: str | None  # the bot's @username for the Subscribe link (None: no link)


class ChannelProblem(TypedDict):
    chat_id: int
    problem: str


class AlertHeld(TypedDict):
    limit: int
    seconds: int


class AlertPreview(TypedDict):
    id: int  # the draft
    spec: SignalSpecParams
    recipients: int
    held: AlertHeld | None  # the posting limit said no to publishing it at once


class AlertProblem(TypedDict):
    key: str  # the catalogue's words for what is wrong
    params: dict[str, object]
    token: str  # the word at fault
    state: bool  # the signal's state (not the alert's words) refused it
    excerpt: str  # the start of what the alert said


class Reply(TypedDict):
    html: str
    markup: NotRequired[dict[str, object]]


# The one registry of shapes: every kind has its own (tests/project/test_notice_kinds.py).
SHAPES: dict[NoticeKind, type] = {
    NoticeKind.ACCESS_STARTED: AccessStarted,
    NoticeKind.ACCESS_ENDED: AccessEnded,
    NoticeKind.ACCESS_EXPIRED: AccessExpired,
    NoticeKind.ACCESS_ENDING: AccessEnding,
    NoticeKind.ACCESS_SUSPENDED: Plan,
    NoticeKind.ACCESS_REVOKED: Revoked,
    NoticeKind.PAYMENT_FAILED: PaymentFailed,
    NoticeKind.RENEWAL_NOTICE: RenewalNotice,
    NoticeKind.GRANT: Until,
    NoticeKind.WINBACK_OFFER: WinbackOffer,
    NoticeKind.REFERRAL_BONUS: ReferralBonus,
    NoticeKind.REFERRAL_BONUS_TAKEN_BACK: ReferralBonus,
    NoticeKind.STARS_RENEWED: Until,
    NoticeKind.STARS_REFUNDED: StarsRefunded,
    NoticeKind.STARS_DUPLICATE_REFUNDED: StarsAmount,
    NoticeKind.PREMIUM_INVITE: PremiumInvite,
    NoticeKind.PREMIUM_REMOVED: Nothing,
    NoticeKind.PREMIUM_DECLINED: Nothing,
    NoticeKind.PREMIUM_AUDIT: PremiumAudit,
    NoticeKind.MASS_HELD: MassHeld,
    NoticeKind.RECORD_HEAD: RecordHead,
    NoticeKind.OUTCOME_PROPOSED: OutcomeProposed,
    NoticeKind.SYMBOL_UNLISTED: SymbolUnlisted,
    NoticeKind.PAID_LANE_CLOSED: PaidLaneClosed,
    NoticeKind.BROADCAST: Broadcast,
    NoticeKind.SIGNAL: Signal,
    NoticeKind.SIGNAL_UPDATE: SignalUpdate,
    NoticeKind.REPLY: Reply,
    NoticeKind.CHANNEL_SIGNAL: Signal,
    NoticeKind.CHANNEL_UPDATE: SignalUpdate,
    NoticeKind.CHANNEL_RESULT: ChannelResult,
    NoticeKind.CHANNEL_PROBLEM: ChannelProblem,
    NoticeKind.ALERT_PREVIEW: AlertPreview,
    NoticeKind.ALERT_PROBLEM: AlertProblem,
}


class ParamsShapeError(ValueError):
    """A producer queued params its kind's shape does not have: a bug, caught at queueing."""


def check(kind: NoticeKind, params: Mapping[str, object]) -> None:
    """Raise ParamsShapeError when `params` has a key the kind's shape lacks or misses one
    it requires (the keys, not the values' types: mypy checks those where the producer
    builds the shape)."""
    shape = SHAPES[kind]
    required: frozenset[str] = shape.__required_keys__  # type: ignore[attr-defined]
    allowed: frozenset[str] = required | shape.__optional_keys__  # type: ignore[attr-defined]
    given = params.keys()
    if not given <= allowed or not required <= given:
        unknown, missing = sorted(given - allowed), sorted(required - given)
        raise ParamsShapeError(f"{kind}: unknown keys {unknown}, missing keys {missing}")
