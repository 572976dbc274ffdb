"""The composer's JSON, read strictly: a signal's fields and an update's parts.

Only the shape is checked here (which keys, text or a list of text, how long); what the
values mean is the rules' business (bot/signals/form.py, bot/signals/updates.py). A wrong
shape is a 400 `bad_request` naming the field; nothing runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.signals.form import FIELDS, SignalForm
from bot.signals.syntax import MAX_NOTE, MAX_TAKE_PROFITS
from webapp.errors import ApiError

# Longer than any value the rules take, short enough that nothing big is ever handled.
MAX_VALUE = 64
MAX_NOTE_TEXT = MAX_NOTE * 4  # the rule names the limit; past this it is no note at all
MAX_ROWS = MAX_TAKE_PROFITS + 5  # one row too many is the rule's to name; far more is junk
UPDATE_FIELDS = ("kind", "price", "note")


@dataclass(frozen=True, slots=True)
class UpdateParts:
    """An update as the composer's buttons send it."""

    kind: str
    price: str | None
    note: str | None


def _bad(field: str, message: str) -> ApiError:
    return ApiError(400, "bad_request", f"{field}: {message}", extra={"field": field})


def _only(value: object, fields: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ApiError(400, "bad_request", f"{what} must be a JSON object")
    unknown = sorted(set(value) - set(fields))
    if unknown:
        raise _bad(unknown[0][:MAX_VALUE], f"not a field of {what}")
    return value


def _text(body: dict[str, Any], field: str, *, limit: int = MAX_VALUE) -> str:
    value = body.get(field, "")
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _bad(field, "must be text")
    if len(value) > limit:
        raise _bad(field, "is too long")
    return value


def _optional(body: dict[str, Any], field: str, *, limit: int = MAX_VALUE) -> str | None:
    return _text(body, field, limit=limit) or None


def _prices(body: dict[str, Any], field: str) -> tuple[str, ...]:
    value = body.get(field, [])
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_ROWS:
        raise _bad(field, f"must be a list of at most {MAX_ROWS} prices")
    if not all(isinstance(item, str) and len(item) <= MAX_VALUE for item in value):
        raise _bad(field, "must be a list of prices written as text")
    return tuple(value)


def signal_form(value: object) -> SignalForm:
    """The `signal` object of a preview or a post."""
    body = _only(value, FIELDS, "signal")
    return SignalForm(
        symbol=_text(body, "symbol"),
        side=_text(body, "side"),
        entry=_prices(body, "entry"),
        stop_loss=_text(body, "stop_loss"),
        take_profits=_prices(body, "take_profits"),
        leverage=_optional(body, "leverage"),
        timeframe=_optional(body, "timeframe"),
        note=_optional(body, "note", limit=MAX_NOTE_TEXT),
    )


def update_parts(value: object) -> UpdateParts:
    """The body of an update: `kind` (tp1.., sl, close, cancel), a `price`, a `note`."""
    body = _only(value, UPDATE_FIELDS, "an update")
    kind = _text(body, "kind")
    if not kind:
        raise _bad("kind", "is required: tp1, tp2.., sl, close or cancel")
    price = _optional(body, "price")
    if price is not None and kind.lower() == "cancel":
        raise _bad("price", "a cancel has no price")
    return UpdateParts(kind, price, _optional(body, "note", limit=MAX_NOTE_TEXT))
