"""The parameter checks the routes share, each refusing as Stripe does (a 400 naming the
parameter): `locale`, a list's `limit`, booleans, integers, URLs, `expand` and string maps."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from tests.support.fakes.stripe_api.errors import _invalid, _missing
from tests.support.fakes.stripe_api.wire import JSONDict

# The `locale` values Checkout and the portal take (Stripe's list, 2026); others are a 400.
STRIPE_LOCALES = frozenset(
    {
        "auto",
        "bg",
        "cs",
        "da",
        "de",
        "el",
        "en",
        "en-GB",
        "es",
        "es-419",
        "et",
        "fi",
        "fil",
        "fr",
        "fr-CA",
        "hr",
        "hu",
        "id",
        "it",
        "ja",
        "ko",
        "lt",
        "lv",
        "ms",
        "mt",
        "nb",
        "nl",
        "pl",
        "pt",
        "pt-BR",
        "ro",
        "ru",
        "sk",
        "sl",
        "sv",
        "th",
        "tr",
        "vi",
        "zh",
        "zh-HK",
        "zh-TW",
    }
)


def _check_locale(params: JSONDict) -> str | None:
    locale = params.get("locale")
    if locale is not None and locale not in STRIPE_LOCALES:
        raise _invalid("locale", f"Invalid locale: {locale!r}", code="parameter_invalid_string")
    return locale


def _list_limit(value: object) -> int:
    """A list's `limit` as Stripe checks it: an integer from 1 to 100, 10 when absent."""
    if value is None:
        return 10
    text = str(value)
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 100:
        raise _invalid("limit", f"Invalid integer: {text[:20]}; must be between 1 and 100")
    return int(text)


def _parse_bool(params: JSONDict, name: str) -> bool | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if value in ("true", "false"):
        return bool(value == "true")
    raise _invalid(name, f"Invalid boolean: {value}")


def _parse_int(value: Any, param: str) -> int:
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value):
        return int(value)
    raise _invalid(param, f"Invalid integer: {value}")


def _check_url(params: JSONDict, name: str, *, required: bool) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if required:
            raise _missing(name)
        return None
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+", value):
        raise _invalid(name, "Not a valid URL", code="url_invalid")
    return value


def _expand_list(params: JSONDict, allowed: Iterable[str]) -> set[str]:
    """Return requested expansions, rejecting ones the fake (or Stripe) can't expand."""
    raw = params.get("expand")
    if raw is None:
        return set()
    if not isinstance(raw, list) or not all(isinstance(x, str) for x in raw):
        raise _invalid("expand", "Invalid array", code="parameter_invalid_empty")
    allowed_set = set(allowed)
    for item in raw:
        if item not in allowed_set:
            raise _invalid("expand", f"This property cannot be expanded ({item}).")
    return set(raw)


def _string_dict(params: JSONDict, name: str) -> dict[str, str]:
    value = params.get(name)
    if value is None or value == "":
        return {}
    if not isinstance(value, dict):
        raise _invalid(name, f"Invalid object: {name} must be a hash")
    # Empty values unset keys in Stripe's encoding, so they never appear on the object.
    return {str(k): str(v) for k, v in value.items() if v != ""}
