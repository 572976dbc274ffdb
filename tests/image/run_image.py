"""`make image-test`, part two: run the built image as a server would, against the fakes.

Not part of `make test` (pytest collects test_*.py only). The image's own entrypoint,
command and HEALTHCHECK run inside it with `buildah run --isolation chroot` on the host's
network (this machine cannot start a container runtime); the fake Bot API and fake Stripe
run here on 127.0.0.1, PostgreSQL is the local server. Steps: the image's metadata, SQLite
on the data volume as the image's user, commands through the entrypoint (--help, backup, a
plain command), MIGRATE_ON_START=0 refusing an unmigrated database, the bot migrating and
starting in webhook mode, /healthz and /readyz, the HEALTHCHECK command, a worker beside
it, a signed Stripe webhook becoming an entitlement and its notice, a signal posted by an
admin reaching a subscriber, and a clean stop on SIGTERM. Every wait is bounded; any
failure exits 1 with the container's output.

    python -m tests.image.run_image IMAGE    (IMAGE_TEST_DATABASE_URL names the database)

Its tools (checks, waits, the container, the database) are in tests/image/helpers.py.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.image.helpers import (
    Container,
    Proc,
    check,
    describe,
    entitlements,
    fresh_database,
    inspect,
    say,
    until,
)
from tests.support.fakes.bot_api import FakeBotAPI, SentMessage
from tests.support.fakes.stripe_api import FakeStripe, make_event, make_subscription, sign_payload
from tests.support.processes import command_update, free_port

TOKEN = "7654321:AAH-image-test-token-0123456789abcdef"
PRICE = "price_image_monthly"
WEBHOOK_SECRET = "whsec_image_test"
TELEGRAM_SECRET = "image-test_secret-42"
ADMIN = 9_100_001
SUBSCRIBER = 9_100_002
SIGNAL = "/signal BTCUSDT long entry 65000 sl 63500 tp 67000 69000 note image test"
DEFAULT_DATABASE = "postgresql+asyncpg://postgres@127.0.0.1:5432/image_test"
START_WITHIN = 120.0  # a cold start of the image on a busy 2-core machine, migration included
STEP_WITHIN = 60.0


# --- the steps ------------------------------------------------------------------------------


@dataclass
class Run:
    image: str
    database: str
    fake_bot: FakeBotAPI
    fake_stripe: FakeStripe
    container: Container
    http: aiohttp.ClientSession
    port: int = field(default_factory=free_port)
    update_id: int = 0
    bot: Proc | None = None
    worker: Proc | None = None

    def env(self, **extra: str) -> dict[str, str]:
        return {
            "BOT_TOKEN": TOKEN,
            "DATABASE_URL": self.database,
            "TELEGRAM_API_BASE": self.fake_bot.base_url,
            "STRIPE_API_BASE": self.fake_stripe.base_url,
            "STRIPE_API_KEY": "sk_test_image",
            "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "STRIPE_PRICE_IDS": PRICE,
            "PUBLIC_URL": "https://bot.example.test",
            "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
            "ADMIN_IDS": str(ADMIN),
            "WEB_HOST": "127.0.0.1",
            "PORT": str(self.port),
            **extra,
        }

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def status_of(self, path: str) -> int | None:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with self.http.get(self.base_url + path) as response:
                return response.status
        return None

    async def post_update(self, update: dict[str, Any]) -> None:
        self.update_id += 1
        body = {"update_id": self.update_id, **update}
        headers = {"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
        async with self.http.post(
            self.base_url + "/telegram/webhook", json=body, headers=headers
        ) as response:
            check(response.status == 200, f"/telegram/webhook answered {response.status}")


async def step_metadata(run: Run) -> str:
    config = run.container.config
    check(config.user not in ("", "root", "0"), f"the image runs as {config.user!r}, not a user")
    check("8080/tcp" in config.ports, f"exposed ports {config.ports}")
    check("/app/data" in config.volumes, f"volumes {config.volumes}")
    check(bool(config.healthcheck) and "/healthz" in " ".join(config.healthcheck), "HEALTHCHECK")
    check(bool(config.entrypoint), "no ENTRYPOINT")
    return f"user {config.user}, {config.ports}, volume {config.volumes}, size {config.size}"


async def step_sqlite_volume(run: Run) -> str:
    # The default DATABASE_URL (./data under WORKDIR), written as the image's user.
    status, out = await run.container.run({"BOT_TOKEN": TOKEN}, run.container.entry("migrate"))
    check(status == 0 and "database is at revision" in out, f"migrate on SQLite: {out}")
    status, out = await run.container.run({}, ["ls", "-ln", "/app/data/signaldesk.db"])
    check(status == 0, f"no /app/data/signaldesk.db: {out}")
    owner = out.split()[2]
    check(owner != "0", f"the database file belongs to uid {owner}")
    return f"/app/data/signaldesk.db created by uid {owner}"


async def step_commands(run: Run) -> str:
    # A `python -m bot` command as the container's command, without a migration first.
    status, out = await run.container.run({}, run.container.entry("--help"))
    check(status == 0 and "worker" in out and "migrate" in out, f"--help: {status}: {out}")
    status, out = await run.container.run(
        {"BOT_TOKEN": TOKEN}, run.container.entry("backup", "/app/data/backup.db")
    )
    check(status == 0 and "database is at revision" not in out, f"backup: {status}: {out}")
    status, out = await run.container.run(
        {}, run.container.entry("test", "-s", "/app/data/backup.db")
    )
    check(status == 0, "anything else runs as given: no backup file, or `test` not run")
    return "--help, backup /app/data/backup.db, and a plain command through the entrypoint"


async def step_no_migrate_refuses(run: Run) -> str:
    status, out = await run.container.run(run.env(MIGRATE_ON_START="0"), run.container.entry())
    check(status == 2 and "python -m bot migrate" in out, f"status {status}: {out}")
    return "MIGRATE_ON_START=0 on an empty database: exit 2, says to migrate"


async def step_start(run: Run) -> str:
    started = time.monotonic()
    run.bot = await run.container.start("bot", run.env(), run.container.entry())
    bot = run.bot

    async def up(path: str) -> bool:
        check(bot.proc.returncode is None, f"the bot exited with {bot.proc.returncode}")
        return await run.status_of(path) == 200

    await until(lambda: up("/healthz"), "/healthz", START_WITHIN)
    await until(lambda: up("/readyz"), "/readyz", STEP_WITHIN)
    check("database is at revision" in bot.text(), "the entrypoint did not migrate first")
    await until(lambda: bool(run.fake_bot.calls_for("setWebhook")), "setWebhook", STEP_WITHIN)
    (hook,) = run.fake_bot.calls_for("setWebhook")
    check(hook["url"] == "https://bot.example.test/telegram/webhook", f"setWebhook {hook}")
    return f"migrated and ready in {time.monotonic() - started:.1f} s, webhook registered"


async def step_healthcheck(run: Run) -> str:
    form, *rest = run.container.config.healthcheck
    argv = ["/bin/sh", "-c", rest[0]] if form == "CMD-SHELL" else rest
    status, out = await run.container.run({"PORT": str(run.port)}, argv)
    check(status == 0, f"HEALTHCHECK against the running bot: exit {status}: {out}")
    status, _ = await run.container.run({"PORT": str(free_port())}, argv)
    check(status != 0, "HEALTHCHECK passed with nothing listening")
    return "exit 0 against the bot, non-zero with nothing listening"


async def step_worker(run: Run) -> str:
    run.worker = await run.container.start(
        "worker", run.env(LOG_LEVEL="DEBUG"), run.container.entry("worker")
    )
    worker = run.worker
    # Standing by (the bot has the sending turn) or sending; either way it is up.
    started = "delivery worker started"
    await until(lambda: started in worker.text(), f"'{started}'", START_WITHIN)
    check("database is at revision" not in worker.text(), "the worker migrated")
    check(worker.proc.returncode is None, f"worker exited: {worker.text()}")
    return "python -m bot worker running beside the bot"


async def step_subscription(run: Run) -> str:
    now = int(time.time())
    subscription = make_subscription(
        "sub_image",
        customer="cus_image",
        price_id=PRICE,
        current_period_end=now + 30 * 86_400,
        metadata={"telegram_user_id": str(SUBSCRIBER)},
    )
    body = json.dumps(make_event("customer.subscription.created", subscription)).encode()
    forged = {"Stripe-Signature": sign_payload(body, "whsec_wrong")}
    async with run.http.post(run.base_url + "/stripe/webhook", data=body, headers=forged) as r:
        check(r.status == 400, f"a forged signature got {r.status}")
    signed = {"Stripe-Signature": sign_payload(body, WEBHOOK_SECRET)}
    async with run.http.post(run.base_url + "/stripe/webhook", data=body, headers=signed) as r:
        check(r.status == 200, f"the signed event got {r.status}: {await r.text()}")
    rows = await entitlements(run.database, SUBSCRIBER)
    check(rows == [("stripe", "active")], f"entitlements {rows}")

    def notice() -> bool:
        return any("is active" in m.text for m in run.fake_bot.sent_messages(SUBSCRIBER))

    await until(notice, "the subscriber's 'is active' notice", STEP_WITHIN)
    return "forged signature 400; signed event 200 -> entitlement (stripe, active) -> notice"


def send_button(message: SentMessage) -> str | None:
    markup = message.params.get("reply_markup") or {}
    if isinstance(markup, str):
        markup = json.loads(markup)
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data", "")
            if data.startswith("sig:send:"):
                return str(data)
    return None


async def step_signal(run: Run) -> str:
    await run.post_update(command_update(ADMIN, SIGNAL))

    def preview() -> str | None:
        for message in run.fake_bot.sent_messages(ADMIN):
            if (data := send_button(message)) is not None:
                return data
        return None

    await until(lambda: preview() is not None, "the admin's signal preview", STEP_WITHIN)
    data = preview()
    assert data is not None
    sender = {"id": ADMIN, "is_bot": False, "first_name": "Admin"}
    await run.post_update(
        {
            "callback_query": {
                "id": "1",
                "from": sender,
                "chat_instance": "1",
                "data": data,
                "message": {
                    "message_id": 1,
                    "date": int(time.time()),
                    "chat": {"id": ADMIN, "type": "private"},
                    "text": "preview",
                },
            }
        }
    )

    def delivered() -> bool:
        return any("BTC/USDT" in m.text for m in run.fake_bot.sent_messages(SUBSCRIBER))

    await until(delivered, "the signal in the subscriber's chat", STEP_WITHIN)
    return f"/signal preview, Send ({data}) -> the subscriber got it"


async def step_stop(run: Run) -> str:
    results = []
    for proc in (run.worker, run.bot):
        if proc is None:
            continue
        status = await proc.stop()
        check(status == 0, f"{proc.name} exited with {status} on SIGTERM")
        check("Traceback" not in proc.text(), f"{proc.name} printed a traceback")
        check(TOKEN.split(":", 1)[1] not in proc.text(), f"{proc.name} logged the token")
        results.append(f"{proc.name} 0")
    return "SIGTERM: " + ", ".join(results) + "; no traceback, no token in the logs"


STEPS: list[tuple[str, Callable[[Run], Awaitable[str]]]] = [
    ("image metadata", step_metadata),
    ("SQLite on the data volume", step_sqlite_volume),
    ("entrypoint commands", step_commands),
    ("MIGRATE_ON_START=0", step_no_migrate_refuses),
    ("migrate on start, serve", step_start),
    ("HEALTHCHECK command", step_healthcheck),
    ("worker", step_worker),
    ("subscription", step_subscription),
    ("signal", step_signal),
    ("stop", step_stop),
]


@contextlib.asynccontextmanager
async def prepared(image: str, database: str) -> AsyncIterator[Run]:
    config = await inspect(image)
    await fresh_database(database)
    async with (
        FakeBotAPI() as fake_bot,
        FakeStripe() as fake_stripe,
        Container(image, config) as container,
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
    ):
        fake_stripe.add_price(PRICE, product_name="Pro Signals", unit_amount=4900)
        yield Run(image, database, fake_bot, fake_stripe, container, http)


async def main(image: str, database: str) -> int:
    started = time.monotonic()
    results: list[tuple[str, bool, str, float]] = []
    try:
        async with prepared(image, database) as run:
            for name, step in STEPS:
                began = time.monotonic()
                try:
                    detail = await step(run)
                except Exception as failure:  # a check that failed, or anything unforeseen
                    results.append((name, False, describe(failure), time.monotonic() - began))
                    for proc in run.container.procs:
                        say(f"--- output of {proc.name} (last 4000 characters) ---")
                        sys.stdout.write(proc.text()[-4000:] + "\n")
                    break
                results.append((name, True, detail, time.monotonic() - began))
                say(f"ok   {name} ({time.monotonic() - began:.1f} s): {detail}")
            if os.environ.get("IMAGE_TEST_VERBOSE") == "1":
                for proc in run.container.procs:
                    say(f"--- output of {proc.name} ---")
                    sys.stdout.write(proc.text() + "\n")
    except Exception as failure:  # the fakes, the database or the container did not start
        results.append(("set-up", False, describe(failure), 0.0))
    passed = [name for name, ok, _, _ in results if ok] == [name for name, _ in STEPS]
    say(f"summary for {image} ({time.monotonic() - started:.0f} s):")
    for name, ok, detail, seconds in results:
        say(f"  {'PASS' if ok else 'FAIL'}  {name:28} {seconds:5.1f} s  {detail}")
    done = {name for name, _, _, _ in results}
    for name, _ in STEPS:
        if name not in done:
            say(f"  SKIP  {name}")
    say("PASSED" if passed else "FAILED")
    return 0 if passed else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("image", help="the image built by tests/image/build.sh")
    args = parser.parse_args()
    url = os.environ.get("IMAGE_TEST_DATABASE_URL", DEFAULT_DATABASE)
    sys.exit(asyncio.run(main(args.image, url)))
