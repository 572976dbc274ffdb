"""Mini App authentication: initData validation and short-lived bearer tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl

from aiogram.utils.web_app import WebAppInitData, WebAppUser, parse_webapp_init_data

from bot.core.credentials import same_secret
from bot.core.ids import parse_user_id

TOKEN_TTL_SECONDS = 3600
# initData minted by a client whose clock runs a little fast is still fine.
CLOCK_SKEW_SECONDS = 60


class InitDataError(Exception):
    """initData that is forged, tampered, hash-less, for another bot, or without a user."""

    code = "invalid_init_data"


class StaleInitDataError(InitDataError):
    code = "stale_init_data"


def _signed_by(bot_token: str, raw: str) -> bool:
    """Telegram's check of initData (core.telegram.org/bots/webapps, "Validating data").

    aiogram's check_webapp_signature compares the hashes as str, and compare_digest raises
    TypeError on a non-ASCII one (`hash=%C3%BC` decodes to "ü"): a 500. As bytes, any
    presented hash is simply right or wrong.
    """
    try:
        fields = dict(parse_qsl(raw, strict_parsing=True))
    except ValueError:
        return False
    presented = fields.pop("hash", None)
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", bot_token.encode(), hashlib.sha256).digest()
    expected = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return same_secret(presented, expected)


def validate_init_data(
    bot_token: str, raw: str, *, max_age: int, now: float | None = None
) -> tuple[WebAppInitData, WebAppUser]:
    """Check the HMAC over the raw string, then the user and the age; never re-serialise."""
    # Telegram sends initData URL-encoded, so ASCII.
    if not raw.isascii() or not _signed_by(bot_token, raw):
        raise InitDataError("initData signature is not valid for this bot")
    try:
        data = parse_webapp_init_data(raw)
    except ValueError as error:  # includes pydantic's ValidationError
        raise InitDataError("initData signature is not valid for this bot") from error
    if data.user is None:
        raise InitDataError("initData carries no user")
    if parse_user_id(data.user.id) is None:
        # Signed, so Telegram's or the bot owner's doing; still no id a column can hold.
        raise InitDataError("initData carries no valid user id")
    age = (now if now is not None else time.time()) - data.auth_date.timestamp()
    if age > max_age or age < -CLOCK_SKEW_SECONDS:
        raise StaleInitDataError("initData is too old; reopen the app")
    return data, data.user


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class TokenClaims:
    user_id: int
    expires_at: int


class TokenSigner:
    """HMAC-signed bearer tokens `<payload>.<signature>` carrying a user id and an expiry.

    The key is derived from the bot token, so no new secret has to be configured, and a
    token for one bot is worthless for another. Being stateless, a token cannot be revoked
    before it expires; the hour it lives bounds that.
    """

    def __init__(
        self,
        bot_token: str,
        *,
        ttl: int = TOKEN_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = hmac.new(
            b"signaldesk-miniapp-token", bot_token.encode(), hashlib.sha256
        ).digest()
        self._ttl = ttl
        self._clock = clock

    @property
    def ttl(self) -> int:
        return self._ttl

    def issue(self, user_id: int) -> str:
        payload = _b64(json.dumps({"u": user_id, "e": int(self._clock()) + self._ttl}).encode())
        return f"{payload}.{self._sign(payload)}"

    def verify(self, token: str) -> TokenClaims | None:
        """The claims of a valid, unexpired token; None for anything else."""
        payload, dot, signature = token.partition(".")
        if not dot or not payload.isascii() or not same_secret(signature, self._sign(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
            claims = TokenClaims(user_id=int(data["u"]), expires_at=int(data["e"]))
        except (ValueError, KeyError, TypeError):
            return None
        return claims if claims.expires_at > self._clock() else None

    def _sign(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest())
