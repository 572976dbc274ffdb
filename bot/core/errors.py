"""Domain errors that the edges (chat handlers, HTTP routes) turn into replies or statuses.

A domain error says what went wrong as data: `key` names the text in the catalogue
(bot/texts) and `params` fill it. The domain never words a message itself.
"""

from __future__ import annotations


class DomainError(Exception):
    """Base for errors a user can be told about."""

    def __init__(self, key: str = "", /, **params: object) -> None:
        super().__init__(key, params)
        self.key = key
        self.params = params


class BillingNotConfiguredError(DomainError):
    """STRIPE_API_KEY or STRIPE_PRICE_IDS is not set."""


class BillingUnavailableError(DomainError):
    """Stripe could not be reached or refused the request; try again later."""


class NoCustomerError(DomainError):
    """The user has never paid, so there is no Stripe customer to manage."""


class UnknownPlanError(DomainError):
    """A price id that is not one of STRIPE_PRICE_IDS."""


class AlreadySubscribedError(DomainError):
    """The user already has access through Stripe; changing plans goes through the portal."""


class RailNotOfferedError(DomainError):
    """A payment rail that PAYMENT_RAILS does not offer (a Stripe key may still be set)."""


class ConsentRequiredError(DomainError):
    """The user has not accepted the current risk disclaimer (`version`): no payment starts
    until they do."""

    def __init__(self, version: str) -> None:
        super().__init__("consent.required", version=version)
        self.version = version


class DisclaimerChangedError(DomainError):
    """An acceptance of a disclaimer version that is not the current one (an old button, or
    forged callback data): nothing is recorded."""
