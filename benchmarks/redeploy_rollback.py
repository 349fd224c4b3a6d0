"""Redeploy and rollback, kamal_nb against the real Kamal, side by side on the same fleet (needs root).

    python benchmarks/redeploy_rollback.py [--hosts 3 8] [--rounds 3]

For each fleet size: a fresh fleet of its own (3 hosts: 10.221.0.0/24, 8 hosts: 10.222.0.0/24), web
behind the kamal-proxy stand-in on every host but the last, jobs on the last; the app set up by the
real Kamal at v1 then deployed at v2. Each round then does, with each tool in turn,
`redeploy -P --version v1` and `rollback v2` (the real Kamal as a process per command, as a terminal
user runs it; kamal_nb in one Session, as in a notebook). Prints medians, the ratio kamal_nb/Kamal,
SSH connections and sessions (commands + uploads) per host, counted from the hosts' sshd logs
(LogLevel VERBOSE), and the CPU time the whole machine spent meanwhile (/proc/stat: the tool itself,
sshd, the shells and docker commands it starts, every engine), with how many cores that kept busy:
on a machine whose cores the hosts' engines share, a tool at nearly all cores is waiting for the
engines' CPU, not for round trips.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, real_kamal, write_project
from kamal_nb.testing.sshlog import SshCounter

SUBNETS = {3: "10.221.0", 8: "10.222.0"}
Sample = tuple[float, float, float, float]  # seconds, connections per host, sessions per host, CPU seconds


def busy_cpu_seconds() -> float:
    """CPU time all cores have spent busy since boot (everything but idle and iowait)."""
    with open("/proc/stat") as stat:
        ticks = [int(field) for field in stat.readline().split()[1:]]
    return (sum(ticks) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")


def measure(info: FleetInfo, action: Callable[[], None]) -> Sample:
    counter = SshCounter(info)
    started, cpu = time.monotonic(), busy_cpu_seconds()
    action()
    elapsed, cpu = time.monotonic() - started, busy_cpu_seconds() - cpu
    time.sleep(0.3)  # let sshd finish writing its log
    counts = list(counter.counts().values())
    return (
        elapsed,
        statistics.mean(c.connections for c in counts),
        statistics.mean(c.sessions for c in counts),
        cpu,
    )


def kamal(project: Path, *args: str) -> Callable[[], None]:
    def action() -> None:
        done = real_kamal(project, *args)
        if done.returncode != 0:
            raise RuntimeError(f"kamal {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    return action


def ours(
    session: Session, path: tuple[str, ...], args: dict[str, object], version: str | None = None
) -> Callable[[], None]:
    def action() -> None:
        result = catalog.perform(session.context(GlobalOptions(version=version)), path, args, yes=True)
        if not isinstance(result, OperationResult) or not result.ok or result.data is False:
            raise RuntimeError(f"kamal_nb {' '.join(path)} failed:\n{result}")

    return action


def bench(hosts: int, rounds: int, base: Path) -> dict[tuple[str, str], list[Sample]]:
    fleet = Fleet(base / f"fleet{hosts}", prefix=f"r{hosts}-", bridge=f"r{hosts}br0", subnet=SUBNETS[hosts])
    info = fleet.up(hosts)
    samples: dict[tuple[str, str], list[Sample]] = {}
    try:
        ips = info.host_ips
        servers = {"web": ips[:-1], "jobs": {"hosts": ips[-1:], "cmd": "/bin/sh /jobs.sh"}}
        project = write_project(base / f"app{hosts}", info, deploy_config(info, servers=servers))
        for args in (("setup", "-P", "--version", "v1"), ("deploy", "-P", "--version", "v2")):
            kamal(project, *args)()
        session = Session(root=project)
        try:
            # one warm-up each (the Session's connections, Kamal's first run caches), not counted
            ours(session, ("app", "version"), {})()
            for round_ in range(rounds):
                for tool in ("kamal", "kamal_nb"):
                    if tool == "kamal":
                        redeploy = kamal(project, "redeploy", "-P", "--version", "v1")
                        rollback = kamal(project, "rollback", "v2")
                    else:
                        redeploy = ours(session, ("redeploy",), {"skip_push": True}, "v1")
                        rollback = ours(session, ("rollback",), {"version": "v2"})
                    samples.setdefault(("redeploy", tool), []).append(measure(info, redeploy))
                    samples.setdefault(("rollback", tool), []).append(measure(info, rollback))
                print(f"  {hosts} hosts: round {round_ + 1}/{rounds} done", file=sys.stderr, flush=True)
        finally:
            session.close()
    finally:
        fleet.down()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 8], choices=sorted(SUBNETS))
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="kamal-nb-bench-") as base:
        for hosts in args.hosts:
            samples = bench(hosts, args.rounds, Path(base))
            for operation in ("redeploy", "rollback"):
                medians = {
                    tool: tuple(statistics.median(s[i] for s in samples[(operation, tool)]) for i in range(4))
                    for tool in ("kamal", "kamal_nb")
                }
                rows.append((hosts, operation, medians["kamal"], medians["kamal_nb"]))
    print(
        f"{'hosts':>5}  {'operation':<9} {'kamal s':>8} {'kamal_nb s':>10} {'ratio':>6}  "
        f"{'conn/host k':>11} {'conn/host nb':>12}  {'sess/host k':>11} {'sess/host nb':>12} {'ratio':>6}  "
        f"{'cpu s k':>7} {'cpu s nb':>8} {'cores k':>7} {'cores nb':>8}"
    )
    for hosts, operation, k, nb in rows:
        print(
            f"{hosts:>5}  {operation:<9} {k[0]:>8.2f} {nb[0]:>10.2f} {nb[0] / k[0]:>6.2f}  "
            f"{k[1]:>11.1f} {nb[1]:>12.1f}  {k[2]:>11.1f} {nb[2]:>12.1f} {nb[2] / k[2]:>6.2f}  "
            f"{k[3]:>7.1f} {nb[3]:>8.1f} {k[3] / k[0]:>7.2f} {nb[3] / nb[0]:>8.2f}"
        )
    print(
        f"(medians of {args.rounds} rounds; sessions = SSH commands + uploads, per host, from the sshd logs; "
        f"cpu = busy CPU seconds of the whole machine ({os.cpu_count()} cores) during the operation)"
    )


if __name__ == "__main__":
    main()
