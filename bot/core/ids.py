"""Strict parsing of the ids people and other systems hand us (Telegram users, our rows).

`str.isdigit()` and `int()` accept far more than digits: superscripts ("²"), other scripts'
digits ("٣"), underscores ("1_000") and spaces. An id is ASCII digits only, and in range.
"""

from __future__ import annotations

import re

# Telegram: "identifiers have at most 52 significant bits"; user ids are positive.
MAX_TELEGRAM_USER_ID = 2**52 - 1
# Our integer primary keys (signals, broadcasts) are 32-bit on both databases.
MAX_ROW_ID = 2**31 - 1

_DIGITS = re.compile(r"[0-9]{1,20}")


def _parse(text: object, maximum: int) -> int | None:
    if isinstance(text, bool):
        return None
    if isinstance(text, int):
        value = text
    elif isinstance(text, str) and _DIGITS.fullmatch(text):
        value = int(text)
    else:
        return None
    return value if 1 <= value <= maximum else None


def parse_user_id(text: object) -> int | None:
    """A Telegram user id from text (or an int), or None if it cannot be one."""
    return _parse(text, MAX_TELEGRAM_USER_ID)


def parse_row_id(text: object) -> int | None:
    """One of our row ids (a signal, a broadcast), or None if it cannot be one."""
    return _parse(text, MAX_ROW_ID)
