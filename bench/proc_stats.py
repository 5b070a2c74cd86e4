"""CPU time and resident memory of process trees, read from /proc (Linux only, no psutil).

CPU is ``utime + stime`` of every process in the tree plus ``cutime + cstime`` (children it has already reaped),
so a delta over a measurement window counts all work done by the server and its uvicorn workers in that window.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Return the fields of /proc/<pid>/stat after the command name (field 3 onwards), or None if gone."""
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name is in parentheses and may itself contain spaces and parentheses.
    return raw[raw.rindex(")") + 2 :].split()


def parent_of(pid: int) -> int | None:
    fields = _stat_fields(pid)
    return None if fields is None else int(fields[1])


def process_tree(root: int) -> list[int]:
    """Return ``root`` and all its descendants that are alive now."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        parent = parent_of(int(entry.name))
        if parent is not None:
            children.setdefault(parent, []).append(int(entry.name))
    tree, todo = [], [root]
    while todo:
        pid = todo.pop()
        if _stat_fields(pid) is None:
            continue
        tree.append(pid)
        todo.extend(children.get(pid, []))
    return tree


def cpu_times(pid: int) -> tuple[float, float]:
    """Return the (user, system) CPU seconds a process has used so far, all threads, reaped children included."""
    fields = _stat_fields(pid)
    if fields is None:
        return (0.0, 0.0)
    # stat(5) fields 14-17 (1-based): utime, stime, cutime, cstime; field n is at index n - 3 here.
    utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
    return ((utime + cutime) / CLOCK_TICKS, (stime + cstime) / CLOCK_TICKS)


def cpu_seconds(pid: int) -> float:
    """Return the CPU seconds (user + system) a process has used so far; 0 if it is gone."""
    return sum(cpu_times(pid))


def context_switches(pid: int) -> dict[int, int]:
    """Return the voluntary + involuntary context switches of each thread of a process so far, by thread id."""
    result = {}
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except FileNotFoundError:
        return {}
    for task in tasks:
        try:
            lines = (task / "status").read_text().splitlines()
        except (FileNotFoundError, ProcessLookupError):
            continue
        result[int(task.name)] = sum(
            int(line.split()[1])
            for line in lines
            if line.startswith(("voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"))
        )
    return result


def thread_cpu_seconds(pid: int) -> dict[int, float]:
    """Return CPU seconds (user + system) used so far by each thread of a process, by thread id."""
    result = {}
    try:
        tids = [int(entry.name) for entry in (PROC / str(pid) / "task").iterdir()]
    except FileNotFoundError:
        return {}
    for tid in tids:
        try:
            raw = (PROC / str(pid) / "task" / str(tid) / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        fields = raw[raw.rindex(")") + 2 :].split()
        result[tid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return result


@dataclass(frozen=True)
class Usage:
    """CPU seconds and context switches of a set of processes at one moment."""

    user: dict[int, float]
    system: dict[int, float]
    switches: dict[int, int]  # by thread id: threads that end during a phase take their switches with them


def usage(pids: list[int]) -> Usage:
    times = {pid: cpu_times(pid) for pid in pids}
    switches: dict[int, int] = {}
    for pid in pids:
        switches.update(context_switches(pid))
    return Usage(
        user={pid: t[0] for pid, t in times.items()},
        system={pid: t[1] for pid, t in times.items()},
        switches=switches,
    )


def usage_delta(before: Usage, after: Usage) -> tuple[float, float, int]:
    """Return (user s, system s, context switches) between two snapshots; new processes count from zero.

    Context switches are a lower bound: a thread that ended between the snapshots is not counted.
    """

    def delta(old: dict[int, Any], new: dict[int, Any]) -> Any:
        return sum(value - old.get(pid, 0) for pid, value in new.items())

    return delta(before.user, after.user), delta(before.system, after.system), delta(before.switches, after.switches)


def machine_busy_seconds() -> float:
    """Return the CPU seconds all CPUs of the machine have spent busy (not idle or waiting for I/O) since boot."""
    fields = (PROC / "stat").read_text().splitlines()[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def rss_mib(pid: int) -> float | None:
    """Return VmRSS of a process in MiB, or None if it is gone."""
    try:
        for line in (PROC / str(pid) / "status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def cmdline(pid: int) -> str:
    try:
        return (PROC / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def worker_pids(root: int) -> list[int]:
    """Return the processes that serve requests: the root itself, or uvicorn's spawned workers when it has some."""
    spawned = [
        pid
        for pid in process_tree(root)
        if pid != root and "spawn_main" in cmdline(pid) and "resource_tracker" not in cmdline(pid)
    ]
    return sorted(spawned) or [root]


def _listening_inodes(port: int) -> set[str]:
    inodes = set()
    for table in ("tcp", "tcp6"):
        try:
            lines = (PROC / "net" / table).read_text().splitlines()[1:]
        except FileNotFoundError:
            continue
        for line in lines:
            parts = line.split()
            local, state, inode = parts[1], parts[3], parts[9]
            if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(inode)
    return inodes


def pids_listening_on(port: int) -> list[int]:
    """Return the processes holding a listening socket on ``port`` (for a server the bench did not start)."""
    targets = {f"socket:[{inode}]" for inode in _listening_inodes(port)}
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            links = {os.readlink(fd) for fd in (entry / "fd").iterdir()}
        except (FileNotFoundError, PermissionError, ProcessLookupError, OSError):
            continue
        if links & targets:
            found.append(int(entry.name))
    return sorted(found)


def tree_root(pids: list[int]) -> int | None:
    """Return the pid among ``pids`` whose parent is not in ``pids`` (the supervisor of a worker group)."""
    roots = [pid for pid in pids if parent_of(pid) not in pids]
    return roots[0] if len(roots) == 1 else None


def machine_times() -> dict[str, float]:
    """CPU seconds of the whole machine since boot: ``busy`` (user, nice, system, irq, softirq) and ``steal``."""
    fields = [int(x) for x in (PROC / "stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return {"busy": (user + nice + system + irq + softirq) / CLOCK_TICKS, "steal": steal / CLOCK_TICKS}


def all_processes_cpu() -> dict[int, tuple[str, float]]:
    """Every process's name and own CPU seconds so far (utime + stime of its threads), by pid.

    Reaped children's time is left out: it lands on the parent in one jump when the child ends, which would put a
    child's whole life into the window in which it happened to end.
    """
    result = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        result[int(entry.name)] = (name, (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return result
