"""What a provider in the EU adds to every Checkout Session: Stripe Tax with the address
and tax ids it needs (STRIPE_AUTOMATIC_TAX), and the terms checkbox linking TERMS_URL
(docs/consents.md#tax-and-terms-in-stripe-checkout). Pure: the parameters, from the
settings and the session's customer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Stripe's limit on custom_text messages.
MAX_CUSTOM_TEXT = 1200


@dataclass(frozen=True, slots=True)
class CheckoutOptions:
    """automatic_tax: STRIPE_AUTOMATIC_TAX; terms_url: TERMS_URL; terms_message: the
    checkbox's words in a language, linking the URL (the texts floor words them; the
    composition root passes it in)."""

    automatic_tax: bool = False
    terms_url: str | None = None
    terms_message: Callable[[str, str], str] | None = None

    @property
    def marker(self) -> str:
        """What a stored Checkout link's offer adds, so a session made before an option was
        turned on (or off) is not handed out again ("" with none: the keys of before)."""
        return ("|tax" if self.automatic_tax else "") + ("|terms" if self.terms_url else "")

    def params(self, *, customer: str | None, language: str) -> dict[str, object]:
        """The Checkout Session parameters these options add."""
        params: dict[str, object] = {}
        if self.automatic_tax:
            # Stripe Tax needs the customer's address: Checkout asks for it, and for a
            # customer reused it saves what they type (it refuses otherwise). Businesses
            # give a tax id, saved with their name.
            params["automatic_tax"] = {"enabled": True}
            params["billing_address_collection"] = "required"
            params["tax_id_collection"] = {"enabled": True}
            if customer is not None:
                params["customer_update"] = {"address": "auto", "name": "auto"}
        if self.terms_url is not None:
            params["consent_collection"] = {"terms_of_service": "required"}
            if self.terms_message is not None:
                message = self.terms_message(self.terms_url, language)[:MAX_CUSTOM_TEXT]
                params["custom_text"] = {"terms_of_service_acceptance": {"message": message}}
        return params
