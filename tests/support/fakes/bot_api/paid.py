"""Telegram's paid lane in the fake Bot API: sendMessage with allow_paid_broadcast goes at
up to `paid_rate` a second (Telegram: 1,000), outside the free limits (about 30 a second,
one a second per chat), and costs the bot 0.1 Star from its balance; getMyStarBalance.

A bot's balance is unlimited until set_star_balance(); a paid send it cannot pay for is
refused with a 400. The Bot API documents no error text for that; MTProto's is
BALANCE_TOO_LOW ("the current Telegram Stars balance is too low"), which the fake answers.
"""

from __future__ import annotations

from collections import deque
from decimal import Decimal
from typing import Any, Final

PAID_RATE: Final = 1000.0
REFUSAL: Final = "Bad Request: BALANCE_TOO_LOW"
_UNLIMITED_TENTHS: Final = 10**12  # what getMyStarBalance says of an unset balance
_NANOS_PER_TENTH: Final = 100_000_000


def is_paid(params: dict[str, Any]) -> bool:
    return params.get("allow_paid_broadcast") in (True, "true", "True")


class PaidLane:
    """FakeBotAPI's paid lane and Stars balances (the server's __init__ sets them up)."""

    paid_rate: float | None
    paid_sent: int
    _paid_window: deque[float]
    _star_tenths: dict[str, int]  # per bot token, tenths of a Star

    def set_star_balance(self, stars: Decimal | int | str, token: str | None = None) -> None:
        """The bot's Stars balance (every bot's when no token is given: the tests run one)."""
        tenths = int(Decimal(stars) * 10)
        if token is None:
            self._star_tenths["*"] = tenths
        else:
            self._star_tenths[token] = tenths

    def star_balance(self, token: str = "*") -> Decimal | None:
        tenths = self._star_tenths.get(token, self._star_tenths.get("*"))
        return None if tenths is None else Decimal(tenths) / 10

    def _balance_of(self, token: str) -> int | None:
        if token in self._star_tenths:
            return self._star_tenths[token]
        return self._star_tenths.get("*")

    def _paid_throttled(self, now: float) -> bool:
        """The paid lane's own sliding second; only accepted sends count."""
        if self.paid_rate is None:
            return False
        window = self._paid_window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.paid_rate:
            return True
        window.append(now)
        return False

    def _paid_refused(self, token: str) -> bool:
        """Whether the bot cannot pay 0.1 Star for one more paid send; else it pays."""
        balance = self._balance_of(token)
        if balance is None:
            self.paid_sent += 1
            return False
        if balance < 1:
            return True
        key = token if token in self._star_tenths else "*"
        self._star_tenths[key] = balance - 1
        self.paid_sent += 1
        return False

    def _get_my_star_balance(self, token: str, _params: dict[str, Any]) -> dict[str, int]:
        tenths = self._balance_of(token)
        tenths = _UNLIMITED_TENTHS if tenths is None else tenths
        answer = {"amount": tenths // 10}
        if tenths % 10:
            answer["nanostar_amount"] = (tenths % 10) * _NANOS_PER_TENTH
        return answer
