"""Building the one async Stripe client the process shares, and wording what Stripe said."""

from __future__ import annotations

import re
from dataclasses import dataclass

import stripe

from bot.core.settings import Settings

# Stripe's "Invalid API Key provided: sk_test_****abcd" names the key's last characters.
_KEY = re.compile(r"\b((?:sk|rk)_(?:test|live)_|(?:sk|rk)_)\S*")


def stripe_words(error: stripe.StripeError) -> str:
    """What Stripe said, on one line, for a log or an operator: its message, or the error's
    kind when it sent none; no part of a key."""
    words = " ".join(str(error.user_message or "").split()) or type(error).__name__
    return _KEY.sub(r"\1…", words)


@dataclass(frozen=True, slots=True)
class StripeConnection:
    """The async StripeClient and the aiohttp transport we must close at shutdown."""

    client: stripe.StripeClient
    http: stripe.AIOHTTPClient

    async def close(self) -> None:
        await self.http.close_async()


def create_stripe_connection(settings: Settings) -> StripeConnection | None:
    """The async client, or None when STRIPE_API_KEY is not set."""
    if settings.stripe_api_key is None:
        return None
    http = stripe.AIOHTTPClient(timeout=20)
    client = stripe.StripeClient(
        settings.stripe_api_key.get_secret_value(),
        base_addresses={"api": settings.stripe_api_base} if settings.stripe_api_base else None,
        http_client=http,
        # The SDK retries network errors, 409 and 5xx, reusing one idempotency key per call.
        max_network_retries=2,
    )
    return StripeConnection(client=client, http=http)
