"""Domain errors that the edges (chat handlers, HTTP routes) turn into replies or statuses."""


class DomainError(Exception):
    """Base for errors a user can be told about in plain words."""


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
