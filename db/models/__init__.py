"""ORM models, one module per part of the product; imported from here (`from db.models
import User`), so every table is registered on Base.metadata for Alembic and the tests."""

from __future__ import annotations

from db.base import Base
from db.models.accounts import Entitlement, EntitlementSource, Referral, User
from db.models.consents import Consent
from db.models.delivery import (
    Broadcast,
    LearntRate,
    OutboxMessage,
    OutboxStatus,
    PaidDay,
    Priority,
)
from db.models.jobs import (
    AttemptBucket,
    AuditEntry,
    HealthProbe,
    HeldAction,
    LifecycleNotice,
    PremiumMember,
    PremiumPeriod,
    ProcessedUpdate,
    SchedulerJob,
)
from db.models.outcomes import PriceEvent, PriceSymbol
from db.models.payments import (
    HistoryKind,
    PaymentLink,
    ProcessedStripeEvent,
    StarCheckout,
    StarPayment,
    StripeCustomer,
    SubscriptionEvent,
    SyncCursor,
)
from db.models.signals import (
    AlertReceipt,
    RecordEntry,
    RecordHead,
    Signal,
    SignalStatus,
    SignalUpdate,
    UpdateSource,
)

__all__ = [
    "AuditEntry",
    "Base",
    "AlertReceipt",
    "AttemptBucket",
    "Broadcast",
    "Consent",
    "Entitlement",
    "EntitlementSource",
    "HealthProbe",
    "HeldAction",
    "HistoryKind",
    "LearntRate",
    "LifecycleNotice",
    "OutboxMessage",
    "OutboxStatus",
    "PaidDay",
    "PaymentLink",
    "PremiumMember",
    "PremiumPeriod",
    "PriceEvent",
    "PriceSymbol",
    "Priority",
    "ProcessedStripeEvent",
    "ProcessedUpdate",
    "RecordEntry",
    "RecordHead",
    "Referral",
    "SchedulerJob",
    "Signal",
    "SignalStatus",
    "SignalUpdate",
    "StarCheckout",
    "StarPayment",
    "StripeCustomer",
    "SubscriptionEvent",
    "SyncCursor",
    "UpdateSource",
    "User",
]
