"""The test side of tests/support/zygote.py: start `python -m bot` as a child of the
preloaded launcher and drive it like an asyncio subprocess (pid, stderr, signals, exit
status).

One launcher per test process (per pytest-xdist worker), started on first use and stopped
when the process exits. Set BOT_TEST_EXEC=1 to exec every bot for real instead.
"""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

ZYGOTE_START_TIMEOUT = 120.0


class Zygote:
    """The launcher process and the socket it listens on."""

    def __init__(self, env: dict[str, str], cwd: Path) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="bot-zygote-")
        self.path = os.path.join(self._dir.name, "socket")
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.support.zygote", self.path],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line.strip() != b"ready":
            self.stop()
            raise RuntimeError(f"the bot launcher did not start: {line!r}")
        atexit.register(self.stop)

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.send_signal(signal.SIGTERM)
            try:
                self._proc.wait(ZYGOTE_START_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        if self._proc.stdout is not None:
            self._proc.stdout.close()
        self._dir.cleanup()


_zygote: Zygote | None = None


def zygote(env: dict[str, str], cwd: Path) -> Zygote:
    global _zygote  # noqa: PLW0603 - one launcher per test process, made on first use
    if _zygote is None:
        _zygote = Zygote(env, cwd)
    return _zygote


class ForkedBot:
    """A `python -m bot` child of the launcher, with the parts of asyncio.subprocess.Process
    the tests use. The launcher reports its exit status over the request's connection."""

    def __init__(
        self,
        pid: int,
        status: tuple[asyncio.StreamReader, asyncio.StreamWriter],
        stderr: asyncio.StreamReader | None,
    ) -> None:
        self.pid = pid
        self.returncode: int | None = None
        self.stderr = stderr
        self._status, self._connection = status
        self._exited = asyncio.ensure_future(self._read_status())

    async def _read_status(self) -> None:
        try:
            line = await self._status.readline()
        finally:
            self._connection.close()
        kind, _, value = line.decode().partition(" ")
        if kind != "exit":
            raise RuntimeError(f"the bot launcher died before pid {self.pid} exited")
        self.returncode = int(value)

    async def wait(self) -> int:
        await asyncio.shield(self._exited)
        assert self.returncode is not None
        return self.returncode

    async def communicate(self) -> tuple[bytes, bytes]:
        stderr = await self.stderr.read() if self.stderr is not None else b""
        await self.wait()
        return b"", stderr

    def send_signal(self, sig: int) -> None:
        if self.returncode is not None:
            raise ProcessLookupError(self.pid)
        os.kill(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


async def fork_bot(
    launcher: Zygote, args: Sequence[str], env: dict[str, str], cwd: Path
) -> ForkedBot:
    """`python -m bot *args` forked from the launcher: stdin and stdout /dev/null, stderr
    piped back here."""
    loop = asyncio.get_running_loop()
    read_end, write_end = os.pipe()
    devnull = os.open(os.devnull, os.O_RDWR)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, launcher.path)
        request = json.dumps({"args": list(args), "env": env, "cwd": str(cwd)})
        # A few hundred bytes with three descriptors: one sendmsg, done at once.
        socket.send_fds(sock, [request.encode() + b"\n"], [devnull, devnull, write_end])
    finally:
        os.close(write_end)
        os.close(devnull)
    status = await asyncio.open_unix_connection(sock=sock)
    line = await status[0].readline()
    kind, _, value = line.decode().partition(" ")
    if kind != "pid":
        status[1].close()
        os.close(read_end)
        raise RuntimeError(f"the bot launcher refused the request: {line!r}")
    stderr = asyncio.StreamReader()
    pipe = os.fdopen(read_end, "rb", buffering=0)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stderr), pipe)
    return ForkedBot(int(value), status, stderr)
