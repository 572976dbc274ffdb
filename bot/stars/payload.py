"""The invoice payload: who may pay it and at what price, signed so nobody can forge one.

`s1.<user id>.<price>.<HMAC>`: Telegram hands the payload back untouched in the
pre-checkout query and the payment, so a payload made for one user at one price is refused
for anyone else and at any other price. The key is derived from the bot token (like the
webhook secret), so every process agrees on it and nothing else needs configuring.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

VERSION = "s1"
_MAC_BYTES = 16  # 128 bits: forging one is out of reach, and the payload stays short
MAX_PAYLOAD = 128  # Telegram's limit, in bytes


@dataclass(frozen=True)
class Offer:
    """What an invoice sells: 30 days for `price` Stars, to `user_id` only."""

    user_id: int
    price: int


def _key(bot_token: str) -> bytes:
    return hmac.new(bot_token.encode(), b"signaldesk-stars-payload", hashlib.sha256).digest()


def _mac(key: bytes, body: str) -> str:
    digest = hmac.new(key, body.encode(), hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class PayloadSigner:
    def __init__(self, bot_token: str) -> None:
        self._key = _key(bot_token)

    def sign(self, offer: Offer) -> str:
        body = f"{VERSION}.{offer.user_id}.{offer.price}"
        return f"{body}.{_mac(self._key, body)}"

    def verify(self, payload: str) -> Offer | None:
        """The offer a payload of ours names; None for anything else (another bot's,
        tampered, malformed, oversized)."""
        if len(payload.encode()) > MAX_PAYLOAD or not payload.isascii():
            return None
        parts = payload.split(".")
        if len(parts) != 4 or parts[0] != VERSION:  # noqa: PLR2004 - the four fields
            return None
        _, user, price, mac = parts
        if not (user.isdigit() and price.isdigit()) or len(user) > 19 or len(price) > 6:
            return None
        if not hmac.compare_digest(mac, _mac(self._key, f"{VERSION}.{user}.{price}")):
            return None
        return Offer(int(user), int(price))
