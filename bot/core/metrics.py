"""Prometheus metrics (prometheus-client), served at GET /metrics by the web process.

Counters and gauges live in the library's default registry, so any module counts with one
call and nothing is passed around. Several processes on one host (`python -m bot` and
`python -m bot worker`) are summed the library's way: with PROMETHEUS_MULTIPROC_DIR set
(an empty directory, the same for all of them) each process writes its values there and
/metrics adds them up (webapp/metrics_route.py). Without it each process reports its own.

The outbox's depth and age are read from the database when /metrics is scraped, so they are
the same whichever instance answers. While the database cannot be read they are NaN (not
known) and signaldesk_database_up is 0: the rest still answers, so an outage is watched.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

UPDATES = Counter(
    "signaldesk_updates_total",
    "Telegram updates, by outcome: handled, duplicate (a redelivery skipped), retry "
    "(the database failed; Telegram sends it again)",
    ["outcome"],
)
WEBHOOKS = Counter(
    "signaldesk_stripe_webhooks_total",
    "Stripe webhook deliveries, by outcome: applied, duplicate, ignored, rejected, retry",
    ["outcome"],
)
SENDS = Counter(
    "signaldesk_sends_total",
    "Outbox sends, by outcome: sent, throttled (429), unavailable, retry, blocked, failed, "
    "migrated",
    ["outcome"],
)
DELIVERY_RATE = Gauge(
    "signaldesk_delivery_rate",
    "The delivery worker's current rate budget, messages a second (DELIVERY_RATE or, "
    "with auto, the rate learnt)",
    multiprocess_mode="max",
)
OUTBOX_DEPTH = Gauge(
    "signaldesk_outbox_pending",
    "Outbox rows waiting to be sent (read from the database at each scrape)",
    multiprocess_mode="mostrecent",
)
OUTBOX_AGE = Gauge(
    "signaldesk_outbox_oldest_pending_seconds",
    "How long the oldest waiting outbox row has waited (0: none waits)",
    multiprocess_mode="mostrecent",
)
DATABASE_UP = Gauge(
    "signaldesk_database_up",
    "1 when this scrape could read the database, 0 when it could not (the outbox gauges "
    "are then NaN: not known)",
    multiprocess_mode="mostrecent",
)
JOBS = Counter(
    "signaldesk_scheduler_jobs_total",
    "Scheduler job runs, by job and outcome (ok, failed)",
    ["job", "outcome"],
)
CACHE = Counter(
    "signaldesk_cache_lookups_total",
    "Mini App cache lookups, by cache (feed, access) and result (hit, miss)",
    ["cache", "result"],
)
