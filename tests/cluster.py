"""Several instances of the bot on one PostgreSQL behind a real load balancer (HAProxy from
Debian's packages), as README's "Running several instances" sets them up. Shared by the
multi-instance tests and `bench.webhooks --instances N`."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import aiohttp

from tests.processes import START_TIMEOUT, free_port, stop_process

# The configuration README shows, with the ports filled in. Why each line is there:
# - roundrobin over instances that answer /readyz (checked twice a second, out after two
#   misses, back after one success);
# - retries on another instance (redispatch) when one cannot take a request: refused or
#   dropped connections, an empty answer, 502/503/504. Safe here although webhooks are POSTs,
#   because both kinds are idempotent: a Stripe event is applied once by its id, a Telegram
#   update once by its update_id, whichever instance sees it first;
# - http-buffer-request keeps each request whole for such a retry (they are a few KB).
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
    retry-on conn-failure empty-response response-timeout 502 503 504
    option http-buffer-request

frontend signaldesk
    bind 127.0.0.1:{port}
    default_backend instances

backend instances
    balance roundrobin
    option httpchk GET /readyz
    http-check expect status 200
    default-server inter 500ms fall 2 rise 1
{servers}
"""


def haproxy_config(port: int, backends: Sequence[int]) -> str:
    servers = "\n".join(
        f"    server instance{n} 127.0.0.1:{backend} check"
        for n, backend in enumerate(backends, 1)
    )
    return HAPROXY_CONFIG.format(port=port, servers=servers)


def haproxy_binary() -> str | None:
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy",) if os.access(p, os.X_OK)), None
    )


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
