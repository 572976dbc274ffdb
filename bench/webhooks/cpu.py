"""CPU time per event during the load, by process: the servers, PostgreSQL's processes
serving the bench's database, the helpers the bench started (HAProxy, a fakes process),
and the bench's own process (the load generator and the inline fakes)."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.engine import make_url

from bench.shared.measures import CpuMeter, descendants, postgres_backends
from bench.shared.servers import Server

# The groups, in the order they are printed.
SERVERS, POSTGRES, HELPERS, BENCH = "servers", "postgres", "helpers", "bench"


def cpu_meter(servers: Sequence[Server], database_url: str) -> CpuMeter:
    """A meter over every process that works for the events: the servers (and anything
    they start), PostgreSQL's backends of this database (not its WAL writer, checkpointer
    and background writer, which other databases on the server share), every other
    process this bench started (HAProxy, `--fakes process`), and this process."""
    url = make_url(database_url)
    me = os.getpid()

    def server_pids() -> list[int]:
        pids = [server.proc.pid for server in servers]
        return pids + [child for pid in pids for child in descendants(pid)]

    def helper_pids() -> list[int]:
        ours = set(server_pids())
        return [pid for pid in descendants(me) if pid not in ours]

    groups = {SERVERS: server_pids, HELPERS: helper_pids, BENCH: lambda: [me]}
    if url.get_backend_name() == "postgresql" and url.database:
        database = url.database
        groups[POSTGRES] = lambda: postgres_backends(database)
    return CpuMeter(groups)


@dataclass(frozen=True, slots=True)
class CpuPerEvent:
    """Milliseconds of CPU per event sent (warm-up included: the CPU is counted over the
    whole load), by group; and the whole machine's, every process on it included."""

    by_group: dict[str, float]
    machine_ms: float  # the machine's busy CPU per event: ours and its neighbours'
    idle_share: float  # of the machine's CPU during the load

    @classmethod
    def of(cls, meter: CpuMeter, used: dict[str, float], events: int) -> CpuPerEvent:
        per = 1000 / max(events, 1)
        total = meter.machine_busy + meter.machine_idle
        return cls(
            {group: seconds * per for group, seconds in used.items()},
            meter.machine_busy * per,
            meter.machine_idle / total if total else 0.0,
        )

    @property
    def system_ms(self) -> float:
        """The system under test: servers, PostgreSQL and HAProxy (not the load generator)."""
        return sum(ms for group, ms in self.by_group.items() if group != BENCH)

    @property
    def all_ms(self) -> float:
        return sum(self.by_group.values())

    def __str__(self) -> str:
        parts = " + ".join(
            f"{group} {ms:.2f}" for group, ms in self.by_group.items() if group != BENCH
        )
        return (
            f"cpu/event={self.all_ms:.2f} ms: system {self.system_ms:.2f} ({parts}) + "
            f"bench {self.by_group.get(BENCH, 0.0):.2f}; machine {self.machine_ms:.2f} ms, "
            f"idle {self.idle_share * 100:.0f}%"
        )


def median_cpu_line(runs: Sequence[CpuPerEvent | None]) -> str | None:
    """The medians of the runs' CPU per event, one line; None when none was measured."""
    measured = [run for run in runs if run is not None]
    if not measured:
        return None
    groups = measured[0].by_group
    median = CpuPerEvent(
        {
            group: statistics.median(run.by_group.get(group, 0.0) for run in measured)
            for group in groups
        },
        statistics.median(run.machine_ms for run in measured),
        statistics.median(run.idle_share for run in measured),
    )
    return (
        f"cpu       median of {len(measured)}  {median} (system: what serves the events; "
        "bench: the load generator and inline fakes; machine: every process on it)"
    )
