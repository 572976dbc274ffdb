"""Stripe webhook bench: signed, mixed events at 32 concurrent against `python -m bot`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import string
import sys
import time
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from random import Random

import aiohttp
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from bench.shared.args import BenchParser, print_quick_banner, run_bench
from bench.shared.basics import (
    JSON,
    PRICE_MONTHLY,
    READY_TIMEOUT,
    REQUEST_TIMEOUT,
    WEBHOOK_SECRET,
    BenchError,
)
from bench.shared.databases import backend_of, migrated_database, scratch_dir
from bench.shared.figures import Figures, Target, median_lines, repeat_runs
from bench.shared.measures import count_warnings, cpu_seconds, peak_rss_mb, tail_of_log
from bench.shared.servers import FakeURLs, Server, running_servers, server_env
from db.models import Entitlement, EntitlementSource, ProcessedStripeEvent
from tests.cluster import running_haproxy
from tests.fakes.bot_api import FakeBotAPI
from tests.fakes.stripe_api import (
    FakeStripe,
    make_customer,
    make_event,
    make_subscription,
    sign_payload,
)
from tests.processes import REPO_ROOT, stop_process

PRICE_YEARLY = "price_bench_yearly"
METADATA_KEY = "telegram_user_id"  # what BillingService puts on Checkout and subscriptions
FIRST_USER_ID = 700_000_001

# DESIGN.md, Performance: "Stripe webhooks, signed, 32 concurrent | >= 500 events/s, p99 <= 50 ms".
TARGET = Target("Stripe webhooks, signed, 32 concurrent", rate=500.0, p99_ms=50.0)

MAX_EVENTS = 100_000
MAX_CONCURRENCY = 256
DAY = 86_400
# Real Stripe events of one new subscription (created, checkout completed, invoice paid) are
# fired within a second or two and arrive in any order: jitter the send order by this much.
ORDER_JITTER_SECONDS = 3.0
# A redelivered event comes back a little later than the original, sometimes while the
# original is still in flight; measured in queue positions.
DUPLICATE_MAX_LAG = 300


# ---------------------------------------------------------------------------
# The event plan
# ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Send:
    """One POST: the exact body bytes (signed just before sending) and whether it is a replay."""

    event_id: str
    event_type: str
    body: bytes
    duplicate: bool


@dataclass
class Plan:
    sends: list[Send]
    # For the fake Stripe: checkout.session.completed makes the server retrieve these.
    subscriptions: list[JSON]
    users: list[int]
    distinct_ids: int
    duplicates: int
    # Users whose newest event is customer.subscription.deleted: must end up canceled.
    canceled_users: list[int]

    def type_mix(self) -> str:
        counts = Counter(send.event_type for send in self.sends if not send.duplicate)
        return "  ".join(f"{name}={n}" for name, n in sorted(counts.items()))


class _Ids:
    """Deterministic Stripe-looking ids from the plan's seeded RNG (reruns send the same)."""

    alphabet = string.ascii_letters + string.digits

    def __init__(self, rng: Random) -> None:
        self._rng = rng

    def __call__(self, prefix: str, length: int = 24) -> str:
        return prefix + "".join(self._rng.choices(self.alphabet, k=length))


def _price_objects() -> dict[str, JSON]:
    """The plans' Price objects, built by an unstarted FakeStripe so both sides agree."""
    catalog = FakeStripe()
    add_prices(catalog)
    return catalog.prices


def add_prices(fake: FakeStripe) -> None:
    fake.add_price(PRICE_MONTHLY, product_name="Pro Signals", unit_amount=4900)
    fake.add_price(
        PRICE_YEARLY, product_name="Pro Signals Yearly", unit_amount=49000, interval="year"
    )


def _invoice(
    new_id: _Ids,
    *,
    user_id: int,
    customer: str,
    subscription: JSON,
    paid: bool,
    reason: str,
    period: tuple[int, int],
    created: int,
) -> JSON:
    """An Invoice in the basil shape: the subscription under parent.subscription_details."""
    item = subscription["items"]["data"][0]
    price = item["price"]
    amount = int(price["unit_amount"])
    invoice_id = new_id("in_1", 22)
    metadata = dict(subscription["metadata"])
    interval = (price.get("recurring") or {}).get("interval", "month")
    line: JSON = {
        "id": new_id("il_1", 22),
        "object": "line_item",
        "amount": amount,
        "currency": price["currency"],
        "description": f"1 × Pro Signals (at ${amount / 100:.2f} / {interval})",
        "discount_amounts": [],
        "discountable": True,
        "discounts": [],
        "invoice": invoice_id,
        "livemode": False,
        "metadata": metadata,
        "parent": {
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": subscription["id"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        "period": {"end": period[1], "start": period[0]},
        "pretax_credit_amounts": [],
        "pricing": {
            "price_details": {"price": price["id"], "product": price["product"]},
            "type": "price_details",
            "unit_amount_decimal": str(amount),
        },
        "quantity": 1,
        "taxes": [],
    }
    return {
        "id": invoice_id,
        "object": "invoice",
        "account_country": "US",
        "account_name": "SignalDesk",
        "account_tax_ids": None,
        "amount_due": amount,
        "amount_overpaid": 0,
        "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount,
        "amount_shipping": 0,
        "application": None,
        "attempt_count": 1,
        "attempted": True,
        "auto_advance": not paid,
        "automatic_tax": {
            "disabled_reason": None,
            "enabled": False,
            "liability": None,
            "provider": None,
            "status": None,
        },
        "automatically_finalizes_at": None,
        "billing_reason": reason,
        "collection_method": "charge_automatically",
        "confirmation_secret": None,
        "created": created,
        "currency": price["currency"],
        "custom_fields": None,
        "customer": customer,
        "customer_address": None,
        "customer_email": f"user{user_id}@example.com",
        "customer_name": None,
        "customer_phone": None,
        "customer_shipping": None,
        "customer_tax_exempt": "none",
        "customer_tax_ids": [],
        "default_payment_method": None,
        "default_source": None,
        "default_tax_rates": [],
        "description": None,
        "discounts": [],
        "due_date": None,
        "effective_at": created,
        "ending_balance": 0,
        "footer": None,
        "from_invoice": None,
        "hosted_invoice_url": f"https://invoice.stripe.com/i/acct_bench/test_{invoice_id}",
        "invoice_pdf": f"https://pay.stripe.com/invoice/acct_bench/test_{invoice_id}/pdf",
        "issuer": {"type": "self"},
        "last_finalization_error": None,
        "latest_revision": None,
        "lines": {
            "object": "list",
            "data": [line],
            "has_more": False,
            "total_count": 1,
            "url": f"/v1/invoices/{invoice_id}/lines",
        },
        "livemode": False,
        "metadata": {},
        "next_payment_attempt": None if paid else created + 3 * DAY,
        "number": f"{customer[-8:].upper()}-0001",
        "on_behalf_of": None,
        "parent": {
            "quote_details": None,
            "subscription_details": {"metadata": metadata, "subscription": subscription["id"]},
            "type": "subscription_details",
        },
        "payment_settings": {
            "default_mandate": None,
            "payment_method_options": None,
            "payment_method_types": None,
        },
        "period_end": created,
        "period_start": created,
        "post_payment_credit_notes_amount": 0,
        "pre_payment_credit_notes_amount": 0,
        "receipt_number": None,
        "rendering": None,
        "shipping_cost": None,
        "shipping_details": None,
        "starting_balance": 0,
        "statement_descriptor": None,
        "status": "paid" if paid else "open",
        "status_transitions": {
            "finalized_at": created,
            "marked_uncollectible_at": None,
            "paid_at": created if paid else None,
            "voided_at": None,
        },
        "subtotal": amount,
        "subtotal_excluding_tax": amount,
        "test_clock": None,
        "total": amount,
        "total_discount_amounts": [],
        "total_excluding_tax": amount,
        "total_pretax_credit_amounts": [],
        "total_taxes": [],
        "webhooks_delivered_at": None,
    }


def _checkout_session(
    new_id: _Ids, *, user_id: int, customer: str, subscription: JSON, created: int
) -> JSON:
    price = subscription["items"]["data"][0]["price"]
    amount = int(price["unit_amount"])
    return {
        "id": new_id("cs_test_a1", 56),
        "object": "checkout.session",
        "allow_promotion_codes": True,
        "amount_subtotal": amount,
        "amount_total": amount,
        "automatic_tax": {"enabled": False, "liability": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": "https://t.me/signaldesk_bench_bot",
        "client_reference_id": str(user_id),
        "consent": None,
        "created": created,
        "currency": price["currency"],
        "customer": customer,
        "customer_creation": "always",
        "customer_details": {
            "address": None,
            "email": f"user{user_id}@example.com",
            "name": None,
            "phone": None,
            "tax_exempt": "none",
            "tax_ids": [],
        },
        "customer_email": None,
        "expires_at": created + DAY,
        "invoice": None,
        "livemode": False,
        "locale": None,
        "metadata": dict(subscription["metadata"]),
        "mode": "subscription",
        "payment_intent": None,
        "payment_method_types": ["card"],
        "payment_status": "paid",
        "status": "complete",
        "submit_type": None,
        "subscription": subscription["id"],
        "success_url": "https://t.me/signaldesk_bench_bot?start=paid",
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted",
        "url": None,
    }


_PRICES = _price_objects()


@dataclass
class _Timeline:
    events: list[JSON] = field(default_factory=list)
    checkout_subscription: JSON | None = None


def _user_timeline(
    rng: Random, new_id: _Ids, index: int, signup: int, period_start: int
) -> _Timeline:
    """One subscriber's life: sign-up burst, maybe a scheduled cancel, a renewal that may fail,
    maybe the end. `created` only orders events (the server never compares it with the
    clock), so a whole life fits in the last few hours; the periods inside the objects are
    real month/year lengths, so access starts and ends as it would live."""
    user_id = FIRST_USER_ID + index
    customer = f"cus_{new_id('', 14)}"
    sub_id = f"sub_1{new_id('', 23)}"
    yearly = rng.random() < 0.2
    price = _PRICES[PRICE_YEARLY if yearly else PRICE_MONTHLY]
    length = (365 if yearly else 30) * DAY
    metadata = {METADATA_KEY: str(user_id)}
    timeline = _Timeline()
    clock = signup

    def subscription(
        status: str, period: tuple[int, int], *, cancel_at_period_end: bool = False
    ) -> JSON:
        return make_subscription(
            sub_id,
            customer=customer,
            price_id=price["id"],
            price=price,
            status=status,
            current_period_start=period[0],
            current_period_end=period[1],
            metadata=metadata,
            cancel_at_period_end=cancel_at_period_end,
        )

    def emit(kind: str, obj: JSON, at: int, previous: JSON | None = None) -> None:
        timeline.events.append(
            make_event(
                kind, obj, event_id=new_id("evt_1", 23), created=at, previous_attributes=previous
            )
        )

    period = (period_start, period_start + length)
    first = subscription("trialing" if rng.random() < 0.1 else "active", period)
    emit("customer.subscription.created", first, clock)
    if rng.random() < 0.6:
        checkout = _checkout_session(
            new_id, user_id=user_id, customer=customer, subscription=first, created=clock
        )
        emit("checkout.session.completed", checkout, clock + 1)
        timeline.checkout_subscription = first
    paid = _invoice(
        new_id,
        user_id=user_id,
        customer=customer,
        subscription=first,
        paid=True,
        reason="subscription_create",
        period=period,
        created=clock,
    )
    emit("invoice.paid", paid, clock + 2)
    clock += rng.randint(60, 600)

    cancel_scheduled = rng.random() < 0.2
    if cancel_scheduled:
        emit(
            "customer.subscription.updated",
            subscription("active", period, cancel_at_period_end=True),
            clock,
            {"cancel_at_period_end": False},
        )
        clock += rng.randint(60, 600)

    renewal = (period[1], period[1] + length)
    if rng.random() < 0.25:
        failed = _invoice(
            new_id,
            user_id=user_id,
            customer=customer,
            subscription=first,
            paid=False,
            reason="subscription_cycle",
            period=renewal,
            created=clock,
        )
        emit("invoice.payment_failed", failed, clock)
        emit(
            "customer.subscription.updated",
            subscription("past_due", renewal),
            clock + 1,
            {"status": "active"},
        )
        clock += rng.randint(60, 600)
        if rng.random() < 0.5:
            recovered = {**failed, "status": "paid", "amount_paid": failed["amount_due"]}
            recovered["amount_remaining"] = 0
            emit("invoice.paid", recovered, clock)
            emit(
                "customer.subscription.updated",
                subscription("active", renewal),
                clock + 1,
                {"status": "past_due"},
            )
        else:
            # Stripe gives up after its retries and cancels.
            emit("customer.subscription.deleted", subscription("canceled", renewal), clock)
            return timeline
    elif not cancel_scheduled:
        cycle = _invoice(
            new_id,
            user_id=user_id,
            customer=customer,
            subscription=first,
            paid=True,
            reason="subscription_cycle",
            period=renewal,
            created=clock,
        )
        emit("invoice.paid", cycle, clock)
        emit(
            "customer.subscription.updated",
            subscription("active", renewal),
            clock + 1,
            {"latest_invoice": None},
        )
    clock += rng.randint(60, 600)
    if cancel_scheduled or rng.random() < 0.1:
        emit("customer.subscription.deleted", subscription("canceled", period), clock)
    return timeline


def _unknown_event(rng: Random, new_id: _Ids, created: int) -> JSON:
    """Types the server does not handle: answered 2xx, recorded, nothing else."""
    kind = rng.choice(["customer.updated", "payment_intent.succeeded", "charge.succeeded"])
    if kind == "customer.updated":
        obj = make_customer(f"cus_{new_id('', 14)}", email="someone@example.com", created=created)
    else:
        prefix = "pi_3" if kind.startswith("payment_intent") else "ch_3"
        obj = {
            "id": new_id(prefix, 23),
            "object": kind.split(".")[0],
            "amount": 4900,
            "currency": "usd",
            "status": "succeeded",
            "livemode": False,
            "metadata": {},
        }
    return make_event(kind, obj, event_id=new_id("evt_1", 23), created=created)


def build_plan(total: int, duplicate_share: float, seed: int) -> Plan:
    """Exactly `total` sends: lifecycle events for about total/5 users, ~1 % unknown types,
    and `duplicate_share` of exact replays of earlier events (same id, same body)."""
    rng = Random(seed)
    new_id = _Ids(rng)
    duplicates = round(total * duplicate_share)
    distinct = total - duplicates
    unknown = distinct // 100 if distinct >= 100 else 0
    budget = distinct - unknown

    now = int(time.time())
    # Sign-ups over the last 3 hours; later events of a user follow within an hour.
    start = now - 4 * 3600
    events: list[JSON] = []
    subscriptions: list[JSON] = []
    users: list[int] = []
    canceled: list[int] = []
    index = 0
    while len(events) < budget:
        signup = start + rng.randint(0, 3 * 3600)
        # Periods end in the future so a new subscriber gains access (and gets a notice).
        period_start = now - rng.randint(0, 5) * DAY
        timeline = _user_timeline(rng, new_id, index, signup, period_start)
        kept = timeline.events[: budget - len(events)]  # the last user may be cut short
        events.extend(kept)
        users.append(FIRST_USER_ID + index)
        if timeline.checkout_subscription is not None and any(
            e["type"] == "checkout.session.completed" for e in kept
        ):
            subscriptions.append(timeline.checkout_subscription)
        newest = max(kept, key=lambda e: int(e["created"]))
        if newest["type"] == "customer.subscription.deleted":
            canceled.append(FIRST_USER_ID + index)
        index += 1
    events.extend(_unknown_event(rng, new_id, rng.randint(start, now)) for _ in range(unknown))

    keyed = sorted(
        ((int(e["created"]) + rng.uniform(0, ORDER_JITTER_SECONDS), e) for e in events),
        key=lambda pair: pair[0],
    )
    # Stripe sends pretty-printed JSON; the server parses what it would really get.
    originals = [
        Send(e["id"], e["type"], json.dumps(e, indent=2).encode(), duplicate=False)
        for _, e in keyed
    ]
    positioned: list[tuple[float, Send]] = [(float(i), s) for i, s in enumerate(originals)]
    for i in rng.sample(range(len(originals)), min(duplicates, len(originals))):
        replay = Send(originals[i].event_id, originals[i].event_type, originals[i].body, True)
        positioned.append((i + rng.uniform(0.5, DUPLICATE_MAX_LAG), replay))
    positioned.sort(key=lambda pair: pair[0])
    return Plan(
        sends=[s for _, s in positioned],
        subscriptions=subscriptions,
        users=users,
        distinct_ids=len(originals),
        duplicates=min(duplicates, len(originals)),
        canceled_users=canceled,
    )


# ---------------------------------------------------------------------------
# The fakes: in this process or a helper process
# ---------------------------------------------------------------------------


async def serve_fakes(subscriptions: list[JSON]) -> None:
    """Helper-process mode: run both fakes until stdin closes (the bench exited or died)."""
    async with FakeStripe() as stripe_fake, FakeBotAPI() as bot_fake:
        add_prices(stripe_fake)
        for sub in subscriptions:
            stripe_fake.add_subscription(sub)
        print(json.dumps({"stripe": stripe_fake.base_url, "bot": bot_fake.base_url}), flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.buffer.read)


@contextlib.asynccontextmanager
async def running_fakes(
    mode: str, subscriptions: list[JSON], workdir: Path
) -> AsyncIterator[FakeURLs]:
    """Fake Stripe and fake Bot API, in this process (default) or in a helper process.

    In this process by default, because measurement says it does not matter: the fakes
    serve ~10 % of events' subscription retrieves plus 25 sends/s, and the load generator
    uses ~10 % of a core, so its loop is idle enough. Interleaved runs, 5000 events, medians
    of 3: 181 vs 178 ev/s (inline vs helper) on the current server, 547 vs 506 ev/s on a
    server patched to ~600 ev/s; p99 within noise. One more process on this 2-core machine
    costs about as much as it saves. `--fakes process` stays for re-checking that.
    """
    if mode == "inline":
        async with FakeStripe() as stripe_fake, FakeBotAPI() as bot_fake:
            add_prices(stripe_fake)
            for sub in subscriptions:
                stripe_fake.add_subscription(sub)
            yield FakeURLs(stripe_fake.base_url, bot_fake.base_url)
        return
    path = workdir / "subscriptions.json"
    path.write_text(json.dumps(subscriptions))
    helper = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.webhooks",
        "--serve-fakes",
        str(path),
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        cwd=REPO_ROOT,
    )
    try:
        assert helper.stdout is not None
        line = await asyncio.wait_for(helper.stdout.readline(), READY_TIMEOUT)
        if not line:
            raise BenchError("the fakes helper process exited before it was ready")
        urls = json.loads(line)
        yield FakeURLs(stripe=str(urls["stripe"]), bot=str(urls["bot"]))
    finally:
        if helper.stdin is not None:
            helper.stdin.close()  # EOF: the helper closes its servers and exits
        await stop_process(helper, grace=5.0, sig=None)


# ---------------------------------------------------------------------------
# Checking the database afterwards
# ---------------------------------------------------------------------------


@dataclass
class Verification:
    processed: int
    expected_processed: int
    entitlements: int
    expected_entitlements: int
    canceled_wrong: list[int]

    @property
    def ok(self) -> bool:
        return (
            self.processed == self.expected_processed
            and self.entitlements == self.expected_entitlements
            and not self.canceled_wrong
        )

    def describe(self) -> str:
        if self.ok:
            return "ok"
        problems = []
        if self.processed != self.expected_processed:
            problems.append(
                f"processed_stripe_events={self.processed} (expected {self.expected_processed})"
            )
        if self.entitlements != self.expected_entitlements:
            problems.append(
                f"stripe entitlements={self.entitlements} "
                f"(expected {self.expected_entitlements}, one per user)"
            )
        if self.canceled_wrong:
            problems.append(
                f"{len(self.canceled_wrong)} users whose last event was deleted are not "
                f"canceled, e.g. {self.canceled_wrong[:5]}"
            )
        return "FAILED: " + "; ".join(problems)


async def verify(url: str, plan: Plan) -> Verification:
    """Compare the database with what the plan must have produced."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            processed = int(
                await conn.scalar(select(func.count()).select_from(ProcessedStripeEvent)) or 0
            )
            entitlements = int(
                await conn.scalar(
                    select(func.count())
                    .select_from(Entitlement)
                    .where(Entitlement.source == EntitlementSource.STRIPE)
                )
                or 0
            )
            statuses: dict[int, str] = {}
            for start in range(0, len(plan.canceled_users), 500):
                chunk = plan.canceled_users[start : start + 500]
                rows = await conn.execute(
                    select(Entitlement.user_id, Entitlement.status).where(
                        Entitlement.source == EntitlementSource.STRIPE,
                        Entitlement.user_id.in_(chunk),
                    )
                )
                statuses.update({int(user_id): str(status) for user_id, status in rows})
    finally:
        await engine.dispose()
    return Verification(
        processed=processed,
        expected_processed=plan.distinct_ids,
        entitlements=entitlements,
        expected_entitlements=len(plan.users),
        canceled_wrong=[u for u in plan.canceled_users if statuses.get(u) != "canceled"],
    )


# ---------------------------------------------------------------------------
# Load
# ---------------------------------------------------------------------------


@dataclass(slots=True)
class Sample:
    started: float
    latency: float
    status: int  # HTTP status, 0 for a transport error
    outcome: str  # the server's "status" field: applied, duplicate, ignored (or the error)


def _outcome(raw: bytes) -> str:
    """`status` of a 2xx answer, or the `error.code` of an error answer."""
    try:
        answer = json.loads(raw)
        if "status" in answer:
            return str(answer["status"])
        return str(answer["error"]["code"])
    except (ValueError, TypeError, KeyError):
        return "unparsable"


async def send_all(base_url: str, sends: Sequence[Send], concurrency: int) -> list[Sample]:
    """`concurrency` workers pull from one queue in plan order; each request is timed."""
    queue: asyncio.Queue[tuple[int, Send]] = asyncio.Queue()
    for item in enumerate(sends):
        queue.put_nowait(item)
    samples: list[Sample | None] = [None] * len(sends)
    url = f"{base_url}/stripe/webhook"
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT)

    async def worker(http: aiohttp.ClientSession) -> None:
        while True:
            try:
                index, send = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            # Signed now, not at plan time: Stripe's tolerance is 300 s.
            headers = {
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": sign_payload(send.body, WEBHOOK_SECRET),
            }
            started = time.perf_counter()
            try:
                async with http.post(url, data=send.body, headers=headers) as response:
                    raw = await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError) as error:
                latency = time.perf_counter() - started
                samples[index] = Sample(started, latency, 0, type(error).__name__)
                continue
            latency = time.perf_counter() - started
            samples[index] = Sample(started, latency, status, _outcome(raw))

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:
        await asyncio.gather(*(worker(http) for _ in range(concurrency)))
    return [s for s in samples if s is not None]


# ---------------------------------------------------------------------------
# Runs and figures
# ---------------------------------------------------------------------------


@dataclass
class RunResult:
    backend: str
    figures: Figures
    error_kinds: Counter[str]
    duplicates_seen: int
    duplicates_sent: int
    rss_mb: float | None
    server_cpu: float | None
    client_cpu: float
    server_warnings: int
    verification: Verification | None
    failure: str | None = None
    log_tail: str | None = None

    @property
    def failed(self) -> bool:
        return (
            self.failure is not None
            or self.figures.errors > 0
            or self.verification is None
            or not self.verification.ok
            or self.duplicates_seen != self.duplicates_sent
        )


def summarise(samples: list[Sample], warmup: int) -> tuple[float, list[float]]:
    """Rate and sorted latencies (ms) over the requests after the warm-up."""
    measured = samples[warmup:]
    if not measured:
        return 0.0, []
    first = min(s.started for s in measured)
    last = max(s.started + s.latency for s in measured)
    rate = len(measured) / (last - first) if last > first else math.inf
    return rate, sorted(s.latency * 1000 for s in measured)


@contextlib.asynccontextmanager
async def serving(
    env: dict[str, str], workdir: Path, instances: int
) -> AsyncIterator[tuple[str, list[Server]]]:
    """One server, or `instances` of them behind HAProxy (tests/cluster.py, the set-up
    docs/operations.md's "Running several instances" describes); yields the URL to send to."""
    async with running_servers(env, workdir, instances) as servers:
        if instances == 1:
            yield servers[0].base_url, servers
            return
        ports = [int(server.base_url.rsplit(":", 1)[1]) for server in servers]
        async with running_haproxy(ports, workdir) as balancer:
            yield balancer, servers


def _cpu(servers: list[Server]) -> float | None:
    readings = [cpu_seconds(server.proc.pid) for server in servers]
    return None if None in readings else sum(r for r in readings if r is not None)


async def one_run(args: argparse.Namespace, plan: Plan, fakes: FakeURLs) -> RunResult:
    with scratch_dir("signaldesk-bench-run-") as workdir:
        database_url = await migrated_database(args.database_url, workdir)
        env = server_env(database_url, fakes, f"{PRICE_MONTHLY},{PRICE_YEARLY}")
        warmup = min(args.warmup, len(plan.sends) // 10)
        failure: str | None = None
        samples: list[Sample] = []
        rss: float | None = None
        server_cpu: float | None = None
        client_cpu = 0.0
        warnings = 0
        log_tail = ""
        async with serving(env, workdir, args.instances) as (url, servers):
            cpu_before = _cpu(servers)
            client_before = time.process_time()
            load_started = time.perf_counter()
            try:
                samples = await asyncio.wait_for(
                    send_all(url, plan.sends, args.concurrency), args.timeout
                )
            except TimeoutError:
                failure = f"the run took over {args.timeout:.0f} s (--timeout)"
            load_seconds = time.perf_counter() - load_started
            client_cpu = (time.process_time() - client_before) / load_seconds
            cpu_after = _cpu(servers)
            if cpu_before is not None and cpu_after is not None:
                server_cpu = (cpu_after - cpu_before) / load_seconds
            rss = max((peak_rss_mb(s.proc.pid) or 0.0 for s in servers), default=None)
            # Counted before SIGTERM, whose own "Received SIGTERM" warning is not news.
            warnings = sum(count_warnings(server.log) for server in servers)
            log_tail = tail_of_log(servers[0].log, 3)
            failure = next((s.exited_early() for s in servers if s.exited_early()), failure)
        failure = failure or next((s.stopped_badly() for s in servers if s.stopped_badly()), None)
        verification = await verify(database_url, plan) if failure is None else None

    rate, latencies = summarise(samples, warmup)
    bad = [s for s in samples if not 200 <= s.status < 300]
    errors = len(bad) + (len(plan.sends) - len(samples))
    return RunResult(
        backend=backend_of(database_url),
        figures=Figures.of(rate, latencies, errors, unit="ev/s", name="errors"),
        error_kinds=Counter(f"{s.status} {s.outcome}" for s in bad),
        duplicates_seen=sum(1 for s in samples if s.outcome == "duplicate"),
        duplicates_sent=plan.duplicates,
        rss_mb=rss,
        server_cpu=server_cpu,
        client_cpu=client_cpu if samples else 0.0,
        server_warnings=warnings,
        verification=verification,
        failure=failure,
        log_tail=log_tail if bad else None,
    )


def format_run(result: RunResult, label: str, args: argparse.Namespace) -> str:
    head = f"webhooks  {result.backend}  {label}  events={args.events} "
    head += f"concurrency={args.concurrency}  instances={args.instances}  "
    body = str(result.figures)
    rss = f"{result.rss_mb:.0f} MB" if result.rss_mb is not None else "n/a"
    cpu = f"{result.server_cpu * 100:.0f}%" if result.server_cpu is not None else "n/a"
    verdict = result.verification.describe() if result.verification else "not run"
    tail = (
        f"\n{'':10}duplicates={result.duplicates_seen}/{result.duplicates_sent}  peak_rss={rss}  "
        f"server_cpu={cpu}  client_cpu={result.client_cpu * 100:.0f}%  "
        f"server_warnings={result.server_warnings}  verify={verdict}"
    )
    if result.error_kinds:
        tail += "  error_kinds=" + ", ".join(f"{k}:{n}" for k, n in result.error_kinds.items())
    if result.failure:
        tail += f"\n{'':10}FAILURE: {result.failure}"
    elif result.log_tail:
        tail += f"\n{'':10}server log: {result.log_tail}"
    return head + body + tail


async def bench(args: argparse.Namespace) -> int:
    if args.instances > 1 and backend_of(args.database_url) == "sqlite":
        print("--instances: several servers share PostgreSQL only; add --postgres")
        return 2
    plan = build_plan(args.events, args.duplicates, args.seed)
    label = args.database_url or "a temporary SQLite file per run"
    print_quick_banner(args)
    print(
        f"plan      {len(plan.sends)} sends: {plan.distinct_ids} distinct events for "
        f"{len(plan.users)} users, {plan.duplicates} exact replays, "
        f"{len(plan.canceled_users)} users end canceled; database {label}; "
        f"fakes {args.fakes}; warm-up {min(args.warmup, len(plan.sends) // 10)} excluded"
    )
    print(f"mix       {plan.type_mix()}")
    with scratch_dir("signaldesk-bench-fakes-") as helper_dir:
        async with running_fakes(args.fakes, plan.subscriptions, helper_dir) as fakes:
            results = await repeat_runs(
                args.runs,
                lambda: one_run(args, plan, fakes),
                lambda result, label: format_run(result, label, args),
                stop=lambda result: result.failure is not None,
            )
    for line in median_lines(
        "webhooks",
        results[0].backend,
        [r.figures for r in results],
        f"events={args.events} concurrency={args.concurrency} instances={args.instances}",
        TARGET,
        quick=args.quick,
    ):
        print(line)
    return 1 if any(r.failed for r in results) else 0


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = BenchParser(
        prog="python -m bench.webhooks",
        description="Signed Stripe webhooks against `python -m bot` in its own process.",
        database="signaldesk_bench",
        seed=(20250331, "plan RNG seed"),
    )
    parser.bounded("--events", full=5000, quick=1000, low=1, high=MAX_EVENTS, help="sends per run")
    parser.bounded(
        "--concurrency", full=32, low=1, high=MAX_CONCURRENCY, help="requests in flight"
    )
    parser.bounded(
        "--duplicates",
        full=0.1,
        low=0,
        high=0.5,
        kind=float,
        help="share of sends that replay an event",
    )
    parser.bounded("--warmup", full=200, low=0, high=MAX_EVENTS, help="first requests not timed")
    parser.bounded(
        "--instances",
        full=1,
        low=1,
        high=8,
        help="servers behind HAProxy (1: the server alone); several need --postgres",
    )
    parser.add_argument(
        "--fakes",
        choices=("inline", "process"),
        default="inline",
        help="run the fake Stripe and Bot API in this process (default) or a helper process",
    )
    parser.bounded(
        "--timeout",
        full=300.0,
        low=1,
        high=3600,
        kind=float,
        help="seconds allowed for one run's load",
    )
    parser.add_argument("--serve-fakes", type=Path, help=argparse.SUPPRESS)
    return parser.parse(argv)


def main(argv: Sequence[str]) -> int:
    args = parse_args(argv)
    if args.serve_fakes is not None:
        asyncio.run(serve_fakes(json.loads(args.serve_fakes.read_text())))
        return 0
    return run_bench(bench, args)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
