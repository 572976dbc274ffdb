"""What every part of the benches uses: BenchError, the JSON type, the credentials the
fakes accept, where PostgreSQL is, and the bounds that make every bench end."""

from __future__ import annotations

from typing import Any

STRIPE_KEY = "sk_test_signaldesk_bench"
WEBHOOK_SECRET = "whsec_bench_secret_for_signing_webhooks"
PRICE_MONTHLY = "price_bench_monthly"
# Every bench's PostgreSQL database lives here; --postgres names one per bench.
POSTGRES_SERVER = "postgresql+asyncpg://postgres@127.0.0.1:5432"
# Bounds so a bench always ends: start-up, migrations, stopping, one request.
READY_TIMEOUT = 30.0
MIGRATE_TIMEOUT = 120.0
STOP_GRACE = 15.0
REQUEST_TIMEOUT = 30.0
MAX_RUNS = 10
JSON = dict[str, Any]


class BenchError(Exception):
    """A real failure (crash, timeout, bad setup, bad answers): the bench exits non-zero."""
