"""The Bot API on the wire: aiogram's per-field JSON encoding of form values undone, the
answers' compact JSON, and BotCall, the record of one request."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

# Free-text / opaque-id fields aiogram sends verbatim (not JSON-encoded). They must never be
# json-decoded, otherwise text "123" or callback_query_id "4711" would turn into ints.
_RAW_STR_KEYS: Final[frozenset[str]] = frozenset(
    {
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "business_connection_id",
        "message_effect_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "scope_language_code",
        "name",
        "title",
        "description",
        "short_description",
        "query",
        "emoji",
        "custom_title",
        "question",
        "explanation",
        "payload",
        "currency",
        "provider_token",
        "pre_checkout_query_id",
        "telegram_payment_charge_id",
        "error_message",
        "game_short_name",
        "file_id",
        "sticker",
        "photo",
        "document",
        "audio",
        "video",
        "animation",
        "voice",
        "video_note",
        "thumbnail",
    }
)
# aiogram json-dumps every non-str value (ints, bools, dicts, lists), so only values starting
# like a JSON number/object/array/literal are worth a json.loads attempt.
_JSON_START: Final[frozenset[str]] = frozenset("{[-0123456789tfn")


@dataclass(frozen=True, slots=True)
class BotCall:
    """One recorded Bot API request (successful or failed)."""

    token: str
    method: str
    params: dict[str, Any]
    at: float
    error: int | None = None
    # Injected fault kind ("429", "timeout", ...) or "throttled"; None for normal calls.
    fault: str | None = None
    # False while a "timeout" call is still sleeping or if the client hung up before the answer.
    delivered: bool = True


def _decode(key: str, value: str) -> Any:
    """Undo aiogram's per-field JSON encoding of form values."""
    if not value or key in _RAW_STR_KEYS or value[0] not in _JSON_START:
        return value
    try:
        return json.loads(value)
    except ValueError:
        # e.g. chat_id="@channel" or free text in a field we do not know about
        return value


def _dumps(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
