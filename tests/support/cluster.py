"""Several instances of the bot on one PostgreSQL behind a real load balancer (HAProxy from
Debian's packages), as docs/operations.md's "Running several instances" sets them up.
Shared by the multi-instance tests and `bench.webhooks --instances N`."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import signal
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp

from tests.support.processes import START_TIMEOUT, free_port, stop_process

# The configuration docs/operations.md shows, with the ports filled in. Why each line is there:
# - roundrobin over instances that answer /readyz (checked twice a second, out after two
#   misses, back after one success);
# - any request is sent to another instance (redispatch) when it could not reach one
#   (conn-failure): it was never received, so that is safe for every route;
# - the two webhooks are also sent again when an instance took them and gave no answer
#   (dropped, empty, too slow) or a 502/503/504: safe because both are idempotent (a Stripe
#   event applies once by its id, a Telegram update once by its update_id, whichever
#   instance sees it first). Other POSTs (the Mini App's admin console publishing a signal)
#   are not, so they get no such retry; http-buffer-request keeps a webhook whole for it.
HAPROXY_CONFIG = """\
global
    maxconn 4096

defaults
    mode http
    timeout connect 2s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch 1
    retry-on conn-failure
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1

frontend signaldesk
    bind 127.0.0.1:{port}
    acl webhook path /telegram/webhook /stripe/webhook
    use_backend webhooks if webhook
    default_backend instances

backend webhooks
    retry-on conn-failure empty-response response-timeout 502 503 504
    option http-buffer-request
{servers}

backend instances
{servers}
"""


def haproxy_config(port: int, backends: Sequence[int]) -> str:
    servers = "\n".join(
        f"    server instance{n} 127.0.0.1:{backend} check"
        for n, backend in enumerate(backends, 1)
    )
    return HAPROXY_CONFIG.format(port=port, servers=servers)


def haproxy_binary() -> str | None:
    """HAProxy on PATH, or where Debian puts it (/usr/sbin is not on every PATH)."""
    return shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")


@contextlib.asynccontextmanager
async def running_haproxy(backends: Sequence[int], workdir: Path) -> AsyncIterator[str]:
    """HAProxy in front of `backends` (ports on 127.0.0.1); yields its base URL once it
    answers /readyz through an instance."""
    binary = haproxy_binary()
    if binary is None:
        raise RuntimeError("haproxy is not installed (apt-get install haproxy)")
    port = free_port()
    config = workdir / "haproxy.cfg"
    config.write_text(haproxy_config(port, backends))
    log = (workdir / "haproxy.log").open("wb")
    proc = await asyncio.create_subprocess_exec(
        binary, "-db", "-f", str(config), stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        await _wait_ready(proc, base_url)
        yield base_url
    finally:
        await stop_process(proc, grace=5.0, sig=signal.SIGTERM)
        log.close()


async def _wait_ready(proc: asyncio.subprocess.Process, base_url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    async with aiohttp.ClientSession() as http:
        while time.monotonic() < deadline:
            assert proc.returncode is None, f"haproxy exited with {proc.returncode}"
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(
                    base_url + "/readyz", timeout=aiohttp.ClientTimeout(total=2)
                ) as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError("haproxy did not become ready")
