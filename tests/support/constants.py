"""The values every harness is built with (the bot's token, Stripe's key and webhook
secret, the prices, the admin), and the recorded payloads in fixtures/."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).parent / "fixtures"

BOT_TOKEN = "123456:TEST-token-for-the-fake-bot-api-000"
WEBHOOK_SECRET = "whsec_test_secret_for_signing_webhooks"
STRIPE_KEY = "sk_test_signaldesk"
PRICE_MONTHLY = "price_monthly_test"
PRICE_YEARLY = "price_yearly_test"
ADMIN_ID = 900_001


def load_fixture(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return data
