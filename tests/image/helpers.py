"""The image test's tools (run_image.py runs the steps): checks that fail with a message,
bounded waits and host commands, the working container every command runs in through
`buildah run`, and the PostgreSQL database the image is tested against."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

STOP_WITHIN = 30.0
CLI_WITHIN = 120.0


class Failure(Exception):
    """A step's check failed; the message says what was expected and what was found."""


def say(text: str) -> None:
    sys.stdout.write(f"image-test: {text}\n")
    sys.stdout.flush()


def describe(error: Exception) -> str:
    return str(error) if isinstance(error, Failure) else f"{type(error).__name__}: {error}"


def check(condition: bool, message: str) -> None:
    if not condition:
        raise Failure(message)


async def until(
    probe: Callable[[], Awaitable[bool]] | Callable[[], bool], what: str, within: float
) -> None:
    """Poll `probe` until it holds, or fail naming `what` after `within` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = probe()
        if not isinstance(result, bool):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            raise Failure(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(0.1)


async def command(*args: str, within: float = CLI_WITHIN) -> tuple[int, str]:
    """Run a host command to completion: (exit status, stdout and stderr together)."""
    proc = await asyncio.create_subprocess_exec(
        *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), within)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise Failure(f"{' '.join(args[:4])} ... did not finish in {within:.0f} s") from None
    return int(proc.returncode or 0), out.decode(errors="replace")


# --- the container ---------------------------------------------------------------------------


@dataclass
class ImageConfig:
    entrypoint: list[str]
    cmd: list[str]
    user: str
    healthcheck: list[str]
    volumes: list[str]
    ports: list[str]
    size: str


async def inspect(image: str) -> ImageConfig:
    status, out = await command("buildah", "inspect", "--type", "image", image)
    check(status == 0, f"buildah inspect {image}: {out}")
    config = json.loads(out)["Docker"]["config"]
    status, size = await command(
        "buildah", "images", "--noheading", "--format", "{{.Size}}", image
    )
    return ImageConfig(
        entrypoint=config.get("Entrypoint") or [],
        cmd=config.get("Cmd") or [],
        user=config.get("User") or "",
        healthcheck=(config.get("Healthcheck") or {}).get("Test") or [],
        volumes=sorted(config.get("Volumes") or {}),
        ports=sorted(config.get("ExposedPorts") or {}),
        size=size.strip() if status == 0 else "?",
    )


@dataclass
class Proc:
    """A command running inside the container through `buildah run`."""

    name: str
    proc: asyncio.subprocess.Process
    output: bytearray = field(default_factory=bytearray)
    reader: asyncio.Task[None] | None = None

    async def _collect(self) -> None:
        assert self.proc.stdout is not None
        while chunk := await self.proc.stdout.read(65536):
            self.output.extend(chunk)

    def text(self) -> str:
        return self.output.decode(errors="replace")

    def inner_pid(self) -> int | None:
        """The container's main process (`python -m bot`), a descendant of `buildah run`.

        `buildah run` kills its child on a signal rather than passing it on, so a stop is
        sent where `docker stop` sends it: to the container's first process.
        """
        children: dict[int, list[int]] = {}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdecimal():
                continue
            with contextlib.suppress(OSError, IndexError, ValueError):
                stat = (entry / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(entry.name))
        found: int | None = None
        queue = [self.proc.pid]
        while queue:
            pid = queue.pop()
            with contextlib.suppress(OSError):
                argv = (Path("/proc") / str(pid) / "cmdline").read_bytes().split(b"\0")
                if b"-m" in argv and b"bot" in argv and b"buildah" not in argv[0]:
                    found = pid
            queue.extend(children.get(pid, []))
        return found

    async def stop(self) -> int:
        """SIGTERM to the bot's process; its exit status as `buildah run` reports it."""
        pid = self.inner_pid()
        check(pid is not None, f"{self.name}: no `python -m bot` process in the container")
        assert pid is not None
        os.kill(pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), STOP_WITHIN)
        except TimeoutError:
            raise Failure(f"{self.name} still runs {STOP_WITHIN:.0f} s after SIGTERM") from None
        if self.reader is not None:
            await asyncio.wait_for(self.reader, STOP_WITHIN)
        return int(self.proc.returncode or 0)

    async def kill(self) -> None:
        if self.proc.returncode is None:
            pid = self.inner_pid()
            if pid is not None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.proc.wait(), STOP_WITHIN)


class Container:
    """One working container of the image; every command runs in it with `buildah run`."""

    def __init__(self, image: str, config: ImageConfig) -> None:
        self.image = image
        self.config = config
        self.name = f"signaldesk-image-test-{os.getpid()}"
        self.procs: list[Proc] = []

    async def __aenter__(self) -> Container:
        status, out = await command("buildah", "from", "--name", self.name, self.image)
        check(status == 0, f"buildah from: {out}")
        return self

    async def __aexit__(self, *_exc: object) -> None:
        for proc in self.procs:
            await proc.kill()
        await command("buildah", "rm", self.name)

    def _argv(self, env: dict[str, str], argv: list[str]) -> list[str]:
        run = ["buildah", "run", "--isolation", "chroot", "--network", "host"]
        for name, value in env.items():
            run += ["--env", f"{name}={value}"]
        return [*run, self.name, "--", *argv]

    def entry(self, *args: str) -> list[str]:
        """The image's entrypoint with `args`, or with its CMD when there are none."""
        return [*self.config.entrypoint, *(args or self.config.cmd)]

    async def run(self, env: dict[str, str], argv: list[str]) -> tuple[int, str]:
        return await command(*self._argv(env, argv))

    async def start(self, name: str, env: dict[str, str], argv: list[str]) -> Proc:
        proc = await asyncio.create_subprocess_exec(
            *self._argv(env, argv),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        running = Proc(name, proc)
        running.reader = asyncio.create_task(running._collect())
        self.procs.append(running)
        return running


# --- the database ---------------------------------------------------------------------------


def libpq_url(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


async def fresh_database(url: str) -> None:
    """Create the database if missing and drop everything in it: the test owns it."""
    base, _, name = libpq_url(url).rpartition("/")
    name = name.split("?", 1)[0]
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(libpq_url(url))
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    finally:
        await conn.close()


async def entitlements(url: str, user: int) -> list[tuple[str, str]]:
    conn = await asyncpg.connect(libpq_url(url))
    try:
        rows = await conn.fetch("SELECT source, status FROM entitlements WHERE user_id = $1", user)
    finally:
        await conn.close()
    return [(row["source"], row["status"]) for row in rows]
