"""Redeploy and rollback, kamal_nb against the real Kamal, side by side on the same fleet (needs root).

    python benchmarks/redeploy_rollback.py [--hosts 3 8] [--rounds 3] [--rtt-ms 0 30 100] [--json FILE]

For each fleet size: a fresh fleet of its own (3 hosts: 10.221.0.0/24, 8 hosts: 10.222.0.0/24), web
behind the kamal-proxy stand-in on every host but the last, jobs on the last; the app set up by the
real Kamal at v1 then deployed at v2. At each round-trip time (a delaying relay on the SSH path,
kamal_nb.testing.delay_relay; 0: none), each round then does, with each tool in turn (alternating
which goes first), `redeploy -P --version v1` and `rollback v2` (the real Kamal as a process per
command, as a terminal user runs it; kamal_nb in one Session, as in a notebook). Prints medians,
the ratio kamal_nb/Kamal, SSH connections and sessions (commands + uploads) per host, counted from
the hosts' sshd logs (LogLevel VERBOSE), the tool's own CPU and the hosts' own CPU (every process in
the hosts' namespaces: sshd, the shells and docker commands, dockerd), the relay's CPU, and the
load when the setting started. `--json FILE` also has the whole machine's busy CPU per sample.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing.bench import (
    Sample,
    Samples,
    add_common_arguments,
    busy_cpu_seconds,
    hosts_cpu_seconds,
    in_turn,
    load,
    mean,
    ratio,
)
from kamal_nb.testing.delay_relay import DelayRelay
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, real_kamal, write_project
from kamal_nb.testing.sshlog import SshCounter

SUBNETS = {3: "10.221.0", 8: "10.222.0"}
TOOLS = ("kamal", "kamal_nb")


def measure(info: FleetInfo, action: Callable[[], None]) -> tuple[float, float, float, float, float, float]:
    """(wall, connections/host, sessions/host, the tool's CPU, the machine's busy CPU, the hosts' CPU)."""
    counter = SshCounter(info)
    namespaces = [f"{info.prefix}{h.name}" for h in info.hosts]
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    started, machine, hosts = time.monotonic(), busy_cpu_seconds(), hosts_cpu_seconds(namespaces)
    action()
    elapsed, machine = time.monotonic() - started, busy_cpu_seconds() - machine
    hosts = hosts_cpu_seconds(namespaces) - hosts
    after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    own = sum((a.ru_utime - b.ru_utime) + (a.ru_stime - b.ru_stime) for a, b in zip(after, usage, strict=True))
    time.sleep(0.3)  # let sshd finish writing its log
    counts = list(counter.counts().values())
    return elapsed, mean(c.connections for c in counts), mean(c.sessions for c in counts), own, machine, hosts


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


def bench(hosts: int, rounds: int, rtts: list[float], base: Path, samples: Samples) -> None:
    fleet = Fleet(base / f"fleet{hosts}", prefix=f"r{hosts}-", bridge=f"r{hosts}br0", subnet=SUBNETS[hosts])
    info = fleet.up(hosts)
    try:
        ips = info.host_ips
        servers = {"web": ips[:-1], "jobs": {"hosts": ips[-1:], "cmd": "/bin/sh /jobs.sh"}}
        project = write_project(base / f"app{hosts}", info, deploy_config(info, servers=servers))
        for args in (("setup", "-P", "--version", "v1"), ("deploy", "-P", "--version", "v2")):
            kamal(project, *args)()
        for rtt in rtts:
            with DelayRelay(ips, rtt_ms=rtt, tag=f"r{hosts}") as relay:
                session = Session(root=project)
                try:
                    # one warm-up each (the Session's connections, Kamal's first run caches), not counted
                    ours(session, ("app", "version"), {})()
                    for round_ in range(rounds):
                        for tool in in_turn(TOOLS, round_):
                            if tool == "kamal":
                                redeploy = kamal(project, "redeploy", "-P", "--version", "v1")
                                rollback = kamal(project, "rollback", "v2")
                            else:
                                redeploy = ours(session, ("redeploy",), {"skip_push": True}, "v1")
                                rollback = ours(session, ("rollback",), {"version": "v2"})
                            for operation, action in (("redeploy", redeploy), ("rollback", rollback)):
                                relay_cpu, at_load = relay.cpu_seconds(), load()
                                wall, conns, sessions, own, machine, host_cpu = measure(info, action)
                                samples.add(
                                    Sample(
                                        operation,
                                        hosts,
                                        rtt,
                                        tool,
                                        wall,
                                        sessions,
                                        own,
                                        round_,
                                        at_load,
                                        relay.cpu_seconds() - relay_cpu,
                                        {
                                            "connections_per_host": conns,
                                            "machine_cpu_s": machine,
                                            "hosts_cpu_s": host_cpu,
                                        },
                                    )
                                )
                        print(
                            f"  {hosts} hosts, rtt {rtt:g} ms: round {round_ + 1}/{rounds} done (load {load()})",
                            file=sys.stderr,
                            flush=True,
                        )
                finally:
                    session.close()
    finally:
        fleet.down()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 8], choices=sorted(SUBNETS))
    add_common_arguments(parser, rounds=3)
    args = parser.parse_args()
    samples = Samples(args.json)
    with tempfile.TemporaryDirectory(prefix="kamal-nb-bench-") as base:
        for hosts in args.hosts:
            bench(hosts, args.rounds, args.rtt_ms, Path(base), samples)
    samples.close()
    print(
        f"{'hosts':>5} {'rtt ms':>6} {'load':>5}  {'operation':<9} {'kamal s':>8} {'kamal_nb s':>10} {'ratio':>6}  "
        f"{'conn/host k':>11} {'conn/host nb':>12}  {'sess/host k':>11} {'sess/host nb':>12}  "
        f"{'cpu k':>6} {'cpu nb':>6}  {'hosts cpu k':>11} {'hosts cpu nb':>12}  {'relay cpu':>9}"
    )
    for hosts in args.hosts:
        for rtt in args.rtt_ms:
            for operation in ("redeploy", "rollback"):
                k = {"hosts": hosts, "rtt_ms": rtt, "operation": operation, "tool": "kamal"}
                nb = {**k, "tool": "kamal_nb"}
                rows = samples.select(hosts=hosts, rtt_ms=rtt, operation=operation)

                def extra(name: str, where: dict[str, object]) -> float:
                    return float(statistics.median(s.extra[name] for s in samples.select(**where)))

                kw, nw = samples.median(**k), samples.median(**nb)
                print(
                    f"{hosts:>5} {rtt:>6g} {rows[0].load:>5.1f}  {operation:<9} {kw or 0:>8.2f} {nw or 0:>10.2f} "
                    f"{ratio(nw, kw):>6}  {extra('connections_per_host', k):>11.1f} "
                    f"{extra('connections_per_host', nb):>12.1f}  {samples.median('sessions_per_host', **k) or 0:>11.1f} "
                    f"{samples.median('sessions_per_host', **nb) or 0:>12.1f}  "
                    f"{samples.median('tool_cpu_s', **k) or 0:>6.2f} {samples.median('tool_cpu_s', **nb) or 0:>6.2f}  "
                    f"{extra('hosts_cpu_s', k):>11.2f} {extra('hosts_cpu_s', nb):>12.2f}  "
                    f"{sum(s.relay_cpu_s or 0 for s in rows):>9.2f}"
                )
    print(
        f"(medians of {args.rounds} rounds, the tools alternating which goes first; sessions = SSH commands + "
        "uploads per host, from the sshd logs; cpu: the tool's own CPU seconds (Kamal's process; this process "
        "for kamal_nb); hosts cpu: the CPU seconds of every process in the hosts' namespaces (sshd, shells, "
        "docker CLI, dockerd); relay cpu: the delay relay's, over the setting; load: the 1-minute load "
        f"average at the setting's first sample ({os.cpu_count()} cores))"
    )


if __name__ == "__main__":
    main()
