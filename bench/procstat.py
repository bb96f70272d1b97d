"""Memory and CPU of a process tree (a collector and its uvicorn workers) and of the machine, from /proc."""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    # The command name is in parentheses and may hold spaces: the fields that matter follow the last ')'.
    return text.rsplit(")", 1)[1].split()


def tree(root: int) -> list[int]:
    """`root` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry))[1])
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        children.setdefault(parent, []).append(int(entry))
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        if pid == root and not os.path.exists(f"/proc/{pid}"):
            continue
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def processes_titled(text: str) -> list[int]:
    """Processes whose command line contains `text`, e.g. PostgreSQL backends titled with a database name."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as cmdline:
                    title = cmdline.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in title:
                found.append(int(entry))
    return found


def rss_kib(pid: int) -> int:
    """Resident memory of `pid` in KiB (VmRSS), 0 if it is gone."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time the processes have used so far."""
    total = 0
    for pid in pids:
        try:
            fields = _stat_fields(pid)
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (stat fields 14 and 15)
    return total / CLOCK_TICKS


def machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine since boot."""
    with open("/proc/stat") as stat:
        values = [int(v) for v in stat.readline().split()[1:]]
    idle = values[3] + (values[4] if len(values) > 4 else 0)  # idle + iowait
    return sum(values) - idle, sum(values)


@dataclass
class TreeSampler:
    """Samples a process tree's resident memory every `interval` seconds while the load runs."""

    root: int
    interval: float = 0.5
    peak_total_kib: int = 0
    peak_process_kib: int = 0
    processes: int = 0
    samples: list[int] = field(default_factory=list)

    def sample(self) -> int:
        pids = tree(self.root)
        sizes = [rss_kib(pid) for pid in pids]
        total = sum(sizes)
        self.processes = max(self.processes, len(pids))
        self.peak_total_kib = max(self.peak_total_kib, total)
        self.peak_process_kib = max([self.peak_process_kib, *sizes])
        self.samples.append(total)
        return total

    async def run(self) -> None:
        while True:
            self.sample()
            await asyncio.sleep(self.interval)
