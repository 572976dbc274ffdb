"""Webhooks: Event envelopes as Stripe sends them, and the Stripe-Signature header computed
with Stripe's scheme."""

from __future__ import annotations

import hashlib
import hmac
import time

from tests.support.fakes.stripe_api.wire import JSONDict, _rand_id

DEFAULT_EVENT_API_VERSION = "2025-03-31.basil"


def sign_payload(payload: bytes | str, secret: str, timestamp: int | None = None) -> str:
    """Return a ``Stripe-Signature`` header value, exactly as Stripe computes it."""
    ts = int(time.time()) if timestamp is None else timestamp
    body = payload.encode("utf-8") if isinstance(payload, str) else payload
    mac = hmac.new(secret.encode("utf-8"), f"{ts}.".encode() + body, hashlib.sha256)
    return f"t={ts},v1={mac.hexdigest()}"


def make_event(
    event_type: str,
    obj: JSONDict,
    *,
    event_id: str | None = None,
    created: int | None = None,
    api_version: str | None = DEFAULT_EVENT_API_VERSION,
    previous_attributes: JSONDict | None = None,
) -> JSONDict:
    """Build a full snapshot Event envelope around ``obj``."""
    data: JSONDict = {"object": obj}
    if previous_attributes is not None:
        data["previous_attributes"] = previous_attributes
    return {
        "id": event_id or _rand_id("evt_1", 23),
        "object": "event",
        "api_version": api_version,
        "created": int(time.time()) if created is None else created,
        "data": data,
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
