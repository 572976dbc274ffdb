"""Measuring processes and the machine: a log's tail and warnings, a process's peak RSS
and CPU time, the load average."""

from __future__ import annotations

import os
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
