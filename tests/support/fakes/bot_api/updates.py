"""Updates: the queue getUpdates long-polls (offsets confirm, as on the real server), a test
pushing an update, and the webhook methods with Telegram's checks on the URL."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Final
from urllib.parse import urlsplit

from tests.support.fakes.stars import FakeBadRequest

_MAX_POLL_SECONDS: Final = 1.0


@dataclass
class _UpdateQueue:
    """Pending updates plus a wake-up event for long-polling getUpdates."""

    items: deque[dict[str, Any]] = field(default_factory=deque)
    next_id: int = 1
    event: asyncio.Event = field(default_factory=asyncio.Event)


def _webhook_url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "An HTTPS URL must be provided for webhook"
    try:
        port = parts.port or 443
    except ValueError:
        return "Failed to resolve host: Name or service not known"
    if port not in (80, 88, 443, 8443):
        return "Webhook can be set up only on ports 80, 88, 443 or 8443"
    host = parts.hostname or ""
    if not host or host == "invalid" or host.endswith(".invalid"):
        return "Failed to resolve host: Name or service not known"
    return None


class Updates:
    """FakeBotAPI's updates and webhook."""

    # FakeBotAPI's state (server.py), which its __init__ sets up.
    webhook_url: str
    poll_cap: float
    _updates: _UpdateQueue
    _closing: asyncio.Event

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue an update for getUpdates; assigns update_id if missing and returns it."""
        q = self._updates
        update_id = update.get("update_id")
        if update_id is None:
            update = {"update_id": q.next_id, **update}
            update_id = q.next_id
        q.next_id = max(q.next_id, int(update_id) + 1)
        q.items.append(update)
        q.event.set()
        return int(update_id)

    @property
    def pending_updates(self) -> int:
        """Number of updates not yet confirmed via offset."""
        return len(self._updates.items)

    def _set_webhook(self, _token: str, params: dict[str, Any]) -> bool:
        """Refuses what Telegram refuses, in its words: no https, a port it does not call,
        a host it cannot resolve (here: any name under .invalid, RFC 2606)."""
        url = str(params.get("url", ""))
        if url:
            problem = _webhook_url_problem(url)
            if problem is not None:
                raise FakeBadRequest(f"bad webhook: {problem}")
        self.webhook_url = url
        if params.get("drop_pending_updates"):
            self._updates.items.clear()
        return True

    def _delete_webhook(self, _token: str, params: dict[str, Any]) -> bool:
        self.webhook_url = ""
        if params.get("drop_pending_updates"):
            self._updates.items.clear()
        return True

    def _webhook_info(self, _token: str, _params: dict[str, Any]) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._updates.items),
        }

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        q = self._updates
        offset = params.get("offset")
        if isinstance(offset, int):
            if offset < 0:
                # Telegram semantics: negative offset keeps only the last -offset updates.
                while len(q.items) > -offset:
                    q.items.popleft()
            else:
                # Confirmed updates are gone for good, as on the real server.
                while q.items and q.items[0]["update_id"] < offset:
                    q.items.popleft()
        limit = params.get("limit")
        limit = limit if isinstance(limit, int) and 0 < limit <= 100 else 100
        timeout = params.get("timeout")
        wait = min(float(timeout), self.poll_cap) if isinstance(timeout, int | float) else 0.0
        deadline = time.monotonic() + wait
        while not q.items and not self._closing.is_set():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            # No await between the emptiness check and clear(), so a push can't be lost.
            q.event.clear()
            try:
                await asyncio.wait_for(q.event.wait(), remaining)
            except TimeoutError:
                break
        return list(islice(q.items, limit))
