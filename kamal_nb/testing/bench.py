"""What the benchmarks share: options (rounds, round-trip times, JSON lines), the machine's load,
timing a process with its CPU, and alternating which tool goes first.

Every sample a benchmark takes can be written as one JSON line (``--json FILE``)::

    {"operation": "details", "hosts": 3, "rtt_ms": 30, "tool": "kamal_nb", "wall_s": 0.41,
     "sessions_per_host": 1.0, "tool_cpu_s": 0.22, "round": 2, "load": 5.1, "relay_cpu_s": 0.01}

``tool_cpu_s`` is the CPU (user + system) of the tool's own process (a process per command) or of
this process during the operation (kamal_nb in-process, warm); the hosts' work is not in it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TextIO


def add_common_arguments(parser: argparse.ArgumentParser, *, rounds: int = 5) -> None:
    parser.add_argument("--rounds", type=int, default=rounds, help=f"rounds per setting (default {rounds})")
    parser.add_argument(
        "--rtt-ms",
        type=float,
        nargs="+",
        default=[0.0],
        help="round-trip times added on each host's SSH path (a delaying relay; 0: none), e.g. 0 30 100",
    )
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every sample as a JSON line to FILE")


def load() -> float:
    """The machine's 1-minute load average (2 cores here; other work shares them)."""
    return round(os.getloadavg()[0], 2)


@dataclass
class Sample:
    operation: str
    hosts: int
    rtt_ms: float
    tool: str
    wall_s: float
    sessions_per_host: float | None = None
    tool_cpu_s: float | None = None
    round: int = 0
    load: float = field(default_factory=load)
    relay_cpu_s: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        data = asdict(self)
        data.update(data.pop("extra"))
        return json.dumps({k: round(v, 4) if isinstance(v, float) else v for k, v in data.items()})


class Samples:
    """The samples of one run, written as JSON lines as they come when a file is given."""

    def __init__(self, path: Path | None) -> None:
        self.items: list[Sample] = []
        self._file: TextIO | None = path.open("a") if path else None

    def add(self, sample: Sample) -> Sample:
        self.items.append(sample)
        if self._file is not None:
            self._file.write(sample.line() + "\n")
            self._file.flush()
        return sample

    def close(self) -> None:
        if self._file is not None:
            self._file.close()

    def select(self, **where: object) -> list[Sample]:
        return [s for s in self.items if all(getattr(s, k) == v for k, v in where.items())]

    def median(self, what: str = "wall_s", **where: object) -> float | None:
        values = [getattr(s, what) for s in self.select(**where)]
        values = [v for v in values if v is not None]
        return statistics.median(values) if values else None


def in_turn(tools: Sequence[str], round_: int) -> list[str]:
    """The tools in the order they go in this round: each goes first in every other round."""
    order = list(tools)
    return order if round_ % 2 == 0 else order[::-1]


def tool_env(project: Path) -> dict[str, str]:
    """The environment both tools run in, as a terminal user's: a HOME of the project's own, no SSH
    agent, and Python allowed to keep its bytecode (an installed package has it; without it every
    start compiles kamal_nb again)."""
    env = {**os.environ, "HOME": str(project / ".home"), "SSH_AUTH_SOCK": ""}
    (project / ".home").mkdir(exist_ok=True)
    for name in ("PYTHONDONTWRITEBYTECODE", "VERSION"):
        env.pop(name, None)
    return env


def run_process(argv: Sequence[str], cwd: Path, env: Mapping[str, str], timeout: float = 600) -> tuple[float, float]:
    """Run a command to its end: (wall seconds, its CPU seconds, children included). Fails loudly."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        list(argv), cwd=cwd, env=dict(env), capture_output=True, text=True, timeout=timeout, check=False
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:.2f}x" if a is not None and b else "-"


def seconds(value: float | None) -> str:
    return f"{value:.3f}" if value is not None else "-"


def mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0


def busy_cpu_seconds() -> float:
    """CPU time all cores have spent busy since boot (everything but idle and iowait): the whole
    machine, other work on it included."""
    with open("/proc/stat") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def hosts_cpu_seconds(netns_names: Iterable[str]) -> float:
    """The CPU the fleet hosts' own processes have used so far: every process in the hosts' network
    namespaces (sshd and its sessions, the shells and docker CLI calls they ran, dockerd,
    containerd and its shims), its reaped children included. Other work on the machine is not in
    it, so the difference over an operation is the hosts' own work for it."""
    inodes = set()
    for name in netns_names:
        try:
            inodes.add(os.stat(f"/run/netns/{name}").st_ino)
        except OSError:
            continue
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry.name}/ns/net").st_ino not in inodes:
                continue
            with open(f"/proc/{entry.name}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += sum(int(f) for f in fields[11:15])  # utime stime cutime cstime
    return ticks / os.sysconf("SC_CLK_TCK")
