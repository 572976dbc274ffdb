"""A preloaded `python -m bot` launcher for the suite: `python -m tests.support.zygote SOCKET`.

Importing aiogram (its ~300 pydantic models) and stripe takes ~3 s of CPU on the 2-core CI
machine (2026-12-06; twice as long on its slow days), twice that under coverage, and the
entry-point and start-up tests start the bot over twenty times. This process imports them
once, then for each request on its Unix socket forks a child that runs the real `bot`
package as `__main__` (runpy, as `python -m bot` does) with the caller's arguments,
environment, working directory and stdio file descriptors. Each child is a separate OS
process with its own pid: signals, exit status, stderr and sockets behave as for an exec'd
`python -m bot`; only the import is shared. One test still execs `python -m bot` for real
(tests/processes/test_entrypoint.py), and bench/ always does.

Protocol, one connection per child: the client sends one JSON line {"args", "env", "cwd"}
with three file descriptors (stdin, stdout, stderr) attached; the zygote answers
"pid <n>\n" and, when the child has exited, "exit <status>\n" (a negative status is the
signal that ended it, as in subprocess), then closes the connection.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import selectors
import signal
import socket
import sys
import traceback

from tests.support.libraries import APP_LIBRARIES, import_untraced

# Untraced: under coverage they cost twice the CPU for lines nobody measures. Our own
# modules are imported after, measured, so their module-level lines count.
import_untraced(APP_LIBRARIES)

# What `python -m bot` imports on its way to running (not bot.__main__ itself: runpy
# runs that fresh in each child, as `python -m` does); the rest is cheap.
import bot.app  # noqa: E402, F401
import bot.cli.serve  # noqa: E402, F401
import bot.core.startup  # noqa: E402, F401
import bot.worker  # noqa: E402, F401

POLL_SECONDS = 0.05


def _run_child(request: dict[str, object], fds: list[int]) -> None:
    """In the forked child: become `python -m bot *args`; never returns."""
    status = 1
    try:
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.chdir(str(request["cwd"]))
        os.environ.clear()
        os.environ.update({str(k): str(v) for k, v in dict(request["env"]).items()})  # type: ignore[call-overload]
        sys.argv = ["-m", *[str(a) for a in list(request["args"])]]  # type: ignore[call-overload]
        try:
            runpy.run_module("bot", run_name="__main__", alter_sys=True)
            status = 0
        except SystemExit as stop:
            code = stop.code
            if code is None or isinstance(code, int):
                status = code or 0
            else:
                print(code, file=sys.stderr)  # noqa: T201
                status = 1
    except BaseException:  # as the interpreter would: print it and exit 1
        traceback.print_exc()
        status = 1
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(status)


def _spawn(conn: socket.socket) -> int | None:
    """Read one request from `conn`, fork its child; the child's pid (None: bad request)."""
    message, fds, _, _ = socket.recv_fds(conn, 1 << 20, 3)
    if len(fds) != 3:
        for fd in fds:
            os.close(fd)
        return None
    request = json.loads(message.decode())
    pid = os.fork()
    if pid == 0:
        conn.close()
        _run_child(request, fds)
    for fd in fds:
        os.close(fd)
    conn.sendall(f"pid {pid}\n".encode())
    return pid


def _reap(children: dict[int, socket.socket]) -> None:
    """Report every child that has exited to its caller."""
    while children:
        try:
            pid, wait_status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = children.pop(pid, None)
        if conn is None:
            continue
        with contextlib.suppress(OSError):
            conn.sendall(f"exit {os.waitstatus_to_exitcode(wait_status)}\n".encode())
        conn.close()


def serve(path: str) -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ)
    children: dict[int, socket.socket] = {}
    # A caller that goes away does not stop the zygote; SIGTERM (from the suite) does.
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    print("ready", flush=True)  # noqa: T201
    while True:
        if selector.select(POLL_SECONDS):
            conn, _ = listener.accept()
            pid = _spawn(conn)
            if pid is None:
                conn.close()
            else:
                children[pid] = conn
        _reap(children)


if __name__ == "__main__":
    serve(sys.argv[1])
