"""Stripe's error answers: the JSON envelope every refusal comes in, and the usual ones (a
missing parameter, an invalid one, no such object)."""

from __future__ import annotations

from tests.support.fakes.stripe_api.wire import JSONDict


class StripeFakeError(Exception):
    """A Stripe-shaped API error raised by route handlers."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    def body(self) -> JSONDict:
        """Return the JSON error envelope; Stripe omits null fields."""
        err: JSONDict = {"type": self.type, "message": self.message}
        if self.code is not None:
            err["code"] = self.code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{self.code.replace('_', '-')}"
        if self.param is not None:
            err["param"] = self.param
        return {"error": err}


def _missing(param: str) -> StripeFakeError:
    return StripeFakeError(
        400, f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def _no_such(kind: str, obj_id: str, *, status: int = 404, param: str = "id") -> StripeFakeError:
    return StripeFakeError(
        status, f"No such {kind}: '{obj_id}'", code="resource_missing", param=param
    )


def _invalid(param: str, message: str, code: str | None = None) -> StripeFakeError:
    return StripeFakeError(400, message, code=code, param=param)
