"""Measuring processes and the machine: a log's tail and warnings, a process's peak RSS
and CPU time, the CPU time of groups of processes over a phase, the load average."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable
from pathlib import Path


def tail_of_log(path: Path, lines: int = 5) -> str:
    try:
        text_lines = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(line[:200] for line in text_lines[-lines:]) or "(empty log)"


def count_warnings(log: Path) -> int:
    text_lines = log.read_text(errors="replace").splitlines()
    return sum(1 for line in text_lines if " WARNING " in line or " ERROR " in line)


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM: the process's peak resident set, as the kernel counts it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process, to tell a CPU-bound server from a starved one."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def load_average() -> str:
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f} {five:.2f} {fifteen:.2f}"


def load_since(start: float) -> str:
    """The 1-minute load average at a run's start and now: others share these 2 cores."""
    return f"load {start:.2f} -> {os.getloadavg()[0]:.2f}"


# --- CPU time of a changing set of processes over a phase ------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    """/proc/PID/stat's fields after the command name (state first), or None if gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def descendants(root: int) -> list[int]:
    """Every live process below `root` (children, theirs, ...), by their parent pids."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdecimal() and (fields := _stat_fields(int(entry.name))) is not None:
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found: list[int] = []
    todo = [root]
    while todo:
        below = children.get(todo.pop(), [])
        found.extend(below)
        todo.extend(below)
    return found


def postgres_backends(database: str) -> list[int]:
    """PostgreSQL's server processes serving `database` (their titles name it: "postgres:
    15/main: USER DATABASE HOST(PORT) STATE"); readable when PostgreSQL runs on this
    machine."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdecimal():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        words = title.split()
        if words[:1] == ["postgres:"] and len(words) >= 5 and words[3] == database:
            found.append(int(entry.name))
    return found


def machine_cpu_seconds() -> tuple[float, float]:
    """(busy, idle) CPU seconds of the whole machine since boot, all cores (/proc/stat)."""
    fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle, iowait
    busy = sum(fields[:8]) - idle  # user .. steal; guest time is inside user already
    tick = os.sysconf("SC_CLK_TCK")
    return busy / tick, idle / tick


class CpuMeter:
    """CPU seconds used by groups of processes over a phase (each group: a function that
    lists its pids now). Processes come and go (PostgreSQL backends, a pool's new
    connection): each is sampled every `interval`, and counts from its first sample, or
    from 0 when it started after the phase did. One that exits loses at most its last
    interval."""

    def __init__(self, groups: dict[str, Callable[[], list[int]]], interval: float = 0.5) -> None:
        self._groups = groups
        self._interval = interval
        self._first: dict[tuple[str, int], float] = {}
        self._last: dict[tuple[str, int], float] = {}
        self._task: asyncio.Task[None] | None = None
        self._machine: tuple[float, float] = (0.0, 0.0)
        self.machine_busy = 0.0  # seconds of CPU the whole machine used (every process)
        self.machine_idle = 0.0

    def _sample(self, *, starting: bool) -> None:
        for group, pids in self._groups.items():
            for pid in pids():
                if (seconds := cpu_seconds(pid)) is None:
                    continue
                key = (group, pid)
                self._first.setdefault(key, seconds if starting else 0.0)
                self._last[key] = seconds

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            self._sample(starting=False)

    def start(self) -> None:
        self._machine = machine_cpu_seconds()
        self._sample(starting=True)
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> dict[str, float]:
        """The CPU seconds of each group since start()."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._sample(starting=False)
        busy, idle = machine_cpu_seconds()
        self.machine_busy = busy - self._machine[0]
        self.machine_idle = idle - self._machine[1]
        used = dict.fromkeys(self._groups, 0.0)
        for (group, pid), last in self._last.items():
            used[group] += last - self._first[(group, pid)]
        return used
