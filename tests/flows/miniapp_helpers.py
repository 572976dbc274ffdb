"""What the Mini App API's tests share: a user, and signing in as one (an access token)."""

from __future__ import annotations

from typing import Any

from tests.support.api_client import login
from tests.support.harness import Harness

USER: dict[str, Any] = {"id": 7101, "first_name": "Mia", "username": "mia"}


async def _login(harness: Harness, user: dict[str, Any] = USER) -> str:
    return await login(harness, user)
