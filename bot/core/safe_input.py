"""Input we cannot store or send, refused where it enters: bad text, and JSON that is not.

PostgreSQL refuses NUL in text, UTF-8 (the database's, aiohttp's, Telegram's) cannot encode
a lone surrogate, Python's json accepts NaN and Infinity and recurses on nesting, and its
integers have no bound while both databases store 64 bits (an `update_id` of 2**63 failed
the insert on every delivery, so Telegram sent it again for ever). Any of them failed a
transaction half way, or the parser itself: a 500 where the input was at
fault. Checked at the edge instead, the error names the input and nothing runs.
"""

from __future__ import annotations

import json
import re
from typing import Any

MAX_JSON_DEPTH = 32
# The range of a BIGINT column, on SQLite and PostgreSQL alike.
_INT64 = range(-(2**63), 2**63)

# C0 controls except tab, newline and carriage return; DEL; the surrogate range.
_UNSAFE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


class UnsafeInputError(ValueError):
    """Input we refuse; the message says what is wrong with it (never echoes it)."""


def first_unsafe_char(text: str) -> str | None:
    """The first character of `text` that cannot be stored or sent, or None."""
    match = _UNSAFE.search(text)
    return match.group() if match else None


def check_text(text: str, what: str = "text") -> None:
    char = first_unsafe_char(text)
    if char is not None:
        code = f"U+{ord(char):04X}"
        raise UnsafeInputError(f"{what} contains a character that is not allowed ({code})")


def strip_unsafe(text: str) -> str:
    """`text` without such characters: for names Telegram reports, which we only show."""
    return _UNSAFE.sub("", text)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def loads_json(raw: bytes) -> Any:
    """json.loads, strict about what JSON is: UTF-8, no NaN or Infinity, bounded recursion."""
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant)
    except RecursionError:
        raise UnsafeInputError("JSON nested too deeply") from None
    except ValueError:  # UnicodeDecodeError and JSONDecodeError included
        raise UnsafeInputError("body must be JSON") from None


def check_json_tree(value: Any, *, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Nesting, text and integers of parsed JSON, walked iteratively (nothing to recurse on)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            check_text(item)
        elif isinstance(item, int) and item not in _INT64:
            raise UnsafeInputError("JSON holds a number too large to store")
        elif isinstance(item, dict | list):
            if depth > max_depth:
                raise UnsafeInputError(f"JSON nested deeper than {max_depth} levels")
            if isinstance(item, dict):
                for key, child in item.items():
                    check_text(key)
                    stack.append((child, depth + 1))
            else:
                stack.extend((child, depth + 1) for child in item)


def parse_json(raw: bytes, *, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """`raw` as JSON the application can store and send, or UnsafeInputError."""
    value = loads_json(raw)
    check_json_tree(value, max_depth=max_depth)
    return value
