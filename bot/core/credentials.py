"""Comparing secrets a caller presents with the ones we hold.

`hmac.compare_digest` on two str raises TypeError when either holds a non-ASCII character,
which turned a header such as `X-Telegram-Bot-Api-Secret-Token: é` into a 500. Compared as
bytes, any text is simply a wrong secret.
"""

from __future__ import annotations

import hmac


def _bytes(value: str | bytes) -> bytes:
    # surrogateescape: aiohttp hands undecodable header bytes over as lone surrogates.
    return value if isinstance(value, bytes) else value.encode("utf-8", "surrogateescape")


def same_secret(presented: str | bytes | None, expected: str | bytes) -> bool:
    """Constant-time equality of a presented secret and ours; None or empty is never equal."""
    if not presented:
        return False
    return hmac.compare_digest(_bytes(presented), _bytes(expected))
