"""The parts of Stripe's objects the webhook reads, validated before anything is applied.

A validly signed event can still be malformed (a string where an object belongs, `created`
as "abc", a period end of 10**30, an id that no column can hold). Reading such an event
field by field failed half way with a 500, and Stripe retried it for three days. Here the
fields we use are checked first, against what Stripe documents and our columns can hold;
a handled event that does not fit is refused with a 400 and changes nothing. Fields we do
not read are not looked at, so Stripe may add to its objects freely.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    field_validator,
)

from bot.core.ids import parse_user_id

# Stripe ids are ASCII letters, digits and underscores; our columns hold 255 characters.
StripeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_]{1,255}$")]
EventType = Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.]{1,128}$")]
Status = Annotated[str, StringConstraints(pattern=r"^[a-z_]{1,32}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[a-zA-Z]{3}$")]
# Unix seconds up to the year 9999: anything later cannot be a datetime.
Timestamp = Annotated[int, Field(strict=True, ge=0, le=253_402_300_799)]
# Minor units; Stripe's own ceiling is 99,999,999 per line, far below this.
Amount = Annotated[int, Field(strict=True, ge=0, le=10**15)]
Metadata = dict[
    Annotated[str, StringConstraints(max_length=40)], Annotated[str, Field(max_length=500)]
]


class _Shape(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class _Ref(_Shape):
    """An expanded object, of which we only need the id."""

    id: StripeId


def _ref(value: Any) -> Any:
    """Expandable fields come as an id or as the object: keep the id."""
    return value["id"] if isinstance(value, dict) and "id" in value else value


T = TypeVar("T")


class _List(_Shape, Generic[T]):
    data: Annotated[list[T], Field(max_length=1000)] = Field(default_factory=list)


class SubscriptionItem(_Shape):
    current_period_end: Timestamp | None = None
    price: StripeId | None = None

    _price = field_validator("price", mode="before")(_ref)


class Subscription(_Shape):
    id: StripeId
    status: Status
    customer: StripeId | None = None
    current_period_end: Timestamp | None = None  # before API 2025-03-31
    items: _List[SubscriptionItem] | None = None  # since then, on each item
    cancel_at_period_end: bool = Field(default=False, strict=True)
    # When a subscription that is over ended: before its period end if cancelled at once.
    ended_at: Timestamp | None = None
    metadata: Metadata = Field(default_factory=dict)

    _customer = field_validator("customer", mode="before")(_ref)

    @property
    def period_end(self) -> datetime | None:
        """current_period_end in either API shape."""
        if self.current_period_end:
            return _utc(self.current_period_end)
        ends = [i.current_period_end for i in self._items() if i.current_period_end]
        return _utc(max(ends)) if ends else None

    @property
    def access_end(self) -> datetime | None:
        """Until when it gave access: the period end, or when it ended if that was earlier
        (cancelled at once, not at the period's end)."""
        period_end = self.period_end
        if self.ended_at is None:
            return period_end
        ended = _utc(self.ended_at)
        return ended if period_end is None or ended < period_end else period_end

    @property
    def price_id(self) -> str | None:
        return next((item.price for item in self._items() if item.price), None)

    @property
    def telegram_user_id(self) -> int | None:
        return parse_user_id(self.metadata.get(METADATA_USER_KEY))

    def _items(self) -> list[SubscriptionItem]:
        return self.items.data if self.items else []


class _Period(_Shape):
    end: Timestamp | None = None


class _InvoiceLine(_Shape):
    period: _Period | None = None


class _SubscriptionDetails(_Shape):
    subscription: StripeId | None = None

    _subscription = field_validator("subscription", mode="before")(_ref)


class _InvoiceParent(_Shape):
    subscription_details: _SubscriptionDetails | None = None


class Invoice(_Shape):
    id: StripeId
    customer: StripeId | None = None
    subscription: StripeId | None = None  # before API 2025-03-31
    parent: _InvoiceParent | None = None  # since then
    lines: _List[_InvoiceLine] | None = None
    amount_due: Amount | None = None
    amount_paid: Amount | None = None
    currency: Currency | None = None
    # When Stripe will try the card again (null once it has given up).
    next_payment_attempt: Timestamp | None = None
    metadata: Metadata = Field(default_factory=dict)

    _refs = field_validator("customer", "subscription", mode="before")(_ref)

    @property
    def subscription_id(self) -> str | None:
        """The invoice's subscription in either API shape."""
        if self.subscription:
            return self.subscription
        details = self.parent.subscription_details if self.parent else None
        return details.subscription if details else None

    @property
    def period_end(self) -> datetime | None:
        ends = [ln.period.end for ln in (self.lines.data if self.lines else []) if ln.period]
        known = [end for end in ends if end]
        return _utc(max(known)) if known else None

    @property
    def telegram_user_id(self) -> int | None:
        return parse_user_id(self.metadata.get(METADATA_USER_KEY))


class CheckoutSession(_Shape):
    id: StripeId
    mode: Status | None = None
    customer: StripeId | None = None
    subscription: StripeId | None = None
    client_reference_id: Annotated[str, Field(max_length=200)] | None = None
    metadata: Metadata = Field(default_factory=dict)

    _refs = field_validator("customer", "subscription", mode="before")(_ref)

    @property
    def telegram_user_id(self) -> int | None:
        return parse_user_id(self.client_reference_id) or parse_user_id(
            self.metadata.get(METADATA_USER_KEY)
        )


class _EventData(_Shape):
    object: dict[str, Any]


class _Event(_Shape):
    id: StripeId
    type: EventType
    created: Timestamp
    data: _EventData


# Checkout and subscription metadata carry the Telegram user id under this key.
METADATA_USER_KEY = "telegram_user_id"

SUBSCRIPTION_TYPES = frozenset(
    {
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
    }
)
INVOICE_PAID_TYPES = frozenset({"invoice.paid", "invoice.payment_succeeded"})
INVOICE_FAILED_TYPE = "invoice.payment_failed"
CHECKOUT_TYPE = "checkout.session.completed"
HANDLED_TYPES = SUBSCRIPTION_TYPES | INVOICE_PAID_TYPES | {INVOICE_FAILED_TYPE, CHECKOUT_TYPE}

StripeObject = Subscription | Invoice | CheckoutSession


@dataclass(frozen=True, slots=True)
class StripeEvent:
    """A verified event: its id, type, `created` and, for the types we handle, its object."""

    id: str
    type: str
    created: int
    object: StripeObject | None  # None for types we record and ignore


class MalformedEventError(ValueError):
    """The event (or its object) does not have the shape Stripe documents."""


def _shape_for(event_type: str) -> type[StripeObject] | None:
    if event_type in SUBSCRIPTION_TYPES:
        return Subscription
    if event_type in INVOICE_PAID_TYPES or event_type == INVOICE_FAILED_TYPE:
        return Invoice
    if event_type == CHECKOUT_TYPE:
        return CheckoutSession
    return None


def _describe(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "event"
    return f"{where}: {first['msg']}"


def parse_event(data: object) -> StripeEvent:
    """The event with its object checked, or MalformedEventError naming the field."""
    try:
        event = _Event.model_validate(data)
        shape = _shape_for(event.type)
        obj = shape.model_validate(event.data.object) if shape is not None else None
    except ValidationError as error:
        raise MalformedEventError(_describe(error)) from None
    return StripeEvent(id=event.id, type=event.type, created=event.created, object=obj)


def parse_subscription(data: object) -> Subscription | None:
    """A subscription fetched from the API, or None when it is not one we can read."""
    try:
        return Subscription.model_validate(data)
    except ValidationError:
        return None


def _utc(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)
