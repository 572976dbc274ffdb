"""Fault injection: the next calls of a method (to one chat, or any) fail as Telegram or
the network fails (429 with retry_after, 4xx and 5xx, an HTML error page, a time-out, a
chat migrated), and the optional rate limits answer 429 when a sliding second is full."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from aiohttp import web

from tests.support.fakes.bot_api.messages import _chat_type
from tests.support.fakes.bot_api.paid import is_paid
from tests.support.fakes.bot_api.wire import BotCall

FAULT_KINDS: Final[frozenset[str]] = frozenset(
    {"429", "403", "400", "401", "404", "409", "413", "500", "html", "timeout", "migrate"}
)

# Telegram's Bot FAQ: "no more than 20 messages per minute" to one group or channel.
GROUP_PER_MINUTE: Final = 20

_ERRORS: Final[dict[str, tuple[int, str]]] = {
    "403": (403, "Forbidden: bot was blocked by the user"),
    "400": (400, "Bad Request: chat not found"),
    "401": (401, "Unauthorized"),
    "404": (404, "Not Found"),
    "409": (409, "Conflict: terminated by other getUpdates request"),
    "413": (413, "Request Entity Too Large"),
    "500": (500, "Internal Server Error"),
    "migrate": (400, "Bad Request: group chat was upgraded to a supergroup chat"),
}


@dataclass(slots=True)
class _Fault:
    """Pending injected failure; mutable so `times` can count down in place."""

    kind: str
    remaining: int
    retry_after: int
    migrate_to_chat_id: int | None


class FaultInjection:
    """FakeBotAPI's faults and rate limits."""

    # FakeBotAPI's state (server.py), which its __init__ sets up.
    global_rate: float | None
    per_chat_rate: float | None
    _faults: dict[tuple[str, int | str | None], deque[_Fault]]
    _global_window: deque[float]
    _chat_windows: dict[int | str, deque[float]]
    # Messages accepted per group or channel in the last minute, as Telegram limits them
    # (None: no limit); on `monotonic`, like the other limits.
    group_per_minute: int | None
    _group_windows: dict[int | str, deque[float]]

    if TYPE_CHECKING:  # the server's own (server.py)

        def _record(self, call: BotCall) -> None: ...

        def _paid_throttled(self, now: float) -> bool: ...

        @staticmethod
        def _error_response(code: int, description: str, **parameters: int) -> web.Response: ...

    def fail_next(
        self,
        method: str,
        kind: str,
        *,
        times: int = 1,
        chat_id: int | None = None,
        retry_after: int = 1,
        migrate_to_chat_id: int | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (to ``chat_id`` if given) fail."""
        if kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {sorted(FAULT_KINDS)}")
        if times < 1:
            raise ValueError("times must be >= 1")
        fault = _Fault(kind, times, retry_after, migrate_to_chat_id)
        self._faults.setdefault((method, chat_id), deque()).append(fault)

    def _take_fault(self, method: str, chat_id: Any) -> _Fault | None:
        keys: tuple[tuple[str, Any], ...] = ((method, None),)
        if chat_id is not None:
            # Chat-scoped faults win over method-wide ones.
            keys = ((method, chat_id), (method, None))
        for key in keys:
            pending = self._faults.get(key)
            if not pending:
                continue
            fault = pending[0]
            fault.remaining -= 1
            if fault.remaining <= 0:
                pending.popleft()
                if not pending:
                    del self._faults[key]
            return fault
        return None

    def _group_wait(self, params: dict[str, Any], now: float) -> int:
        """Seconds until a group or channel that had its minute's messages may have one
        more (Telegram's retry_after); 0 when it may now."""
        chat_id: int | str = params.get("chat_id", 0)
        if self.group_per_minute is None or _chat_type(chat_id) == "private":
            return 0
        window = self._group_windows.setdefault(chat_id, deque())
        while window and window[0] <= now - 60.0:
            window.popleft()
        if len(window) < self.group_per_minute:
            return 0
        return max(1, math.ceil(window[0] + 60.0 - now))

    def _is_throttled(self, params: dict[str, Any], now: float) -> bool:
        """Sliding 1 s window check; only accepted sends consume quota. A paid send
        (allow_paid_broadcast) counts on the paid lane only (paid.py)."""
        if is_paid(params):
            return self._paid_throttled(now)
        if self.global_rate is None and self.per_chat_rate is None:
            return False
        cutoff = now - 1.0
        window = self._global_window
        if self.global_rate is not None:
            while window and window[0] <= cutoff:
                window.popleft()
            if len(window) >= self.global_rate:
                return True
        chat_window: deque[float] | None = None
        if self.per_chat_rate is not None:
            chat_key: int | str = params.get("chat_id", 0)
            chat_window = self._chat_windows.get(chat_key)
            if chat_window is None:
                chat_window = self._chat_windows[chat_key] = deque()
            while chat_window and chat_window[0] <= cutoff:
                chat_window.popleft()
            if len(chat_window) >= self.per_chat_rate:
                return True
            chat_window.append(now)
        if self.global_rate is not None:
            window.append(now)
        return False

    def _fail(
        self, token: str, method: str, params: dict[str, Any], now: float, fault: _Fault
    ) -> web.Response:
        if fault.kind == "429":
            code = 429
            self._record(BotCall(token, method, params, now, code, fault.kind))
            return self._error_response(
                code,
                f"Too Many Requests: retry after {fault.retry_after}",
                retry_after=fault.retry_after,
            )
        if fault.kind == "html":
            # A proxy's error page, as nginx or a load balancer serves it: not JSON, and it
            # echoes the request path, which carries the bot token.
            self._record(BotCall(token, method, params, now, 502, fault.kind))
            page = (
                "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 "
                f"Bad Gateway</h1></center><p>/bot{token}/{method}</p><hr>nginx</body></html>"
            )
            return web.Response(text=page, status=502, content_type="text/html")
        code, description = _ERRORS[fault.kind]
        self._record(BotCall(token, method, params, now, code, fault.kind))
        if fault.kind == "migrate":
            target = fault.migrate_to_chat_id
            if target is None:
                chat_id = params.get("chat_id")
                # Mimic Telegram's supergroup id scheme: -100 prefix on the old group id.
                base = abs(chat_id) if isinstance(chat_id, int) else 1234567890
                target = -1_000_000_000_000 - base
            return self._error_response(code, description, migrate_to_chat_id=target)
        return self._error_response(code, description)
