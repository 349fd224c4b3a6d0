"""Redeploy and rollback, kamal_nb against the real Kamal, side by side on the same fleet (needs root).

    python benchmarks/redeploy_rollback.py [--hosts 3 8] [--rounds 3] [--rtt-ms 0 30 100] [--json FILE]

For each fleet size: a fresh fleet of its own (3 hosts: 10.221.0.0/24, 8 hosts: 10.222.0.0/24), web
behind the kamal-proxy stand-in on every host but the last, jobs on the last; the app set up by the
real Kamal at v1 then deployed at v2. At each round-trip time (a delaying relay on the SSH path,
kamal_nb.testing.delay_relay; 0: none), each round then does, with each tool in turn (alternating
which goes first), `redeploy -P --version v1` and `rollback v2` (the real Kamal as a process per
command, as a terminal user runs it; kamal_nb in one Session, as in a notebook). Prints medians,
the ratio kamal_nb/Kamal, as a terminal user sees it and against Kamal's work alone (`vs work`: its
`kamal version` start-up, measured each round, subtracted), SSH connections and sessions (commands + uploads) per host, counted from
the hosts' sshd logs (LogLevel VERBOSE), the tool's own CPU and the hosts' own CPU (every process in
the hosts' namespaces: sshd, the shells and docker commands, dockerd), the relay's CPU, and the
load when the setting started. `--json FILE` also has the whole machine's busy CPU per sample.

Where the time goes, beside the ratio: `host work s`, the busiest host's own work in a kamal_nb run,
and `overhead s` = the wall time less it: kamal_nb's own (`overhead k`: Kamal's, the same way). A
host's own work is measured on the host, by its docker engine's clock (its events, read through its
own socket after the run, so no SSH session is added): the union of
  pull          the app image's removal (`docker image rm --force`) to its `pull` event;
  docker run    each new container's `create` to its `start` event (its Created and State.StartedAt);
  proxy deploy  the `kamal-proxy deploy` exec's start to its end: the proxy's health checks of the new
                container and its switch to it;
  stop old      each stopped container's SIGTERM (`kill`) to its `stop` (its exit, then its network's teardown).
The SSH round trips, shells, docker CLI start-ups, reads and instant changes (rename, tag) are how a
tool drives a host, not what the host must do, so they count as the tool's. No tool can end sooner
than its busiest host's own work (on one host these intervals follow each other), so the overhead
is what a tool adds to it: an upper bound on what kamal_nb could still cut.

After the table, each setting's median kamal_nb run: its critical path (kamal_nb.testing.critical_path,
from the result's timeline: the chain of steps the end waited for), phase by phase (pull, lock, reads,
env upload, rename, docker run, proxy deploy, status, stop old, tag/prune; start: before the first
command, end: after the last, the lock's release), each phase's seconds split into the hosts' own
work and kamal_nb's own (round trips, CLI start-ups, the gaps between steps). The JSON lines have
`host_work_s`, `overhead_s`, `host_work_host`, `host_work_by_kind` for every sample and, for
kamal_nb's, `critical_path` and `lanes` (each host and role's seconds per phase).
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
from kamal_nb.testing import critical_path, host_work
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
ROLES = ("web", "jobs")


def measure(
    info: FleetInfo, action: Callable[[], None]
) -> tuple[float, float, float, float, float, float, float, float]:
    """(wall, connections/host, sessions/host, the tool's CPU, the machine's busy CPU, the hosts' CPU,
    and when it began and ended, seconds since the epoch: the clock of the timeline and the hosts' events)."""
    counter = SshCounter(info)
    namespaces = [f"{info.prefix}{h.name}" for h in info.hosts]
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    started, machine, hosts = time.monotonic(), busy_cpu_seconds(), hosts_cpu_seconds(namespaces)
    began = time.time()
    action()
    ended = time.time()
    elapsed, machine = time.monotonic() - started, busy_cpu_seconds() - machine
    hosts = hosts_cpu_seconds(namespaces) - hosts
    after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    own = sum((a.ru_utime - b.ru_utime) + (a.ru_stime - b.ru_stime) for a, b in zip(after, usage, strict=True))
    time.sleep(0.3)  # let sshd finish writing its log
    counts = list(counter.counts().values())
    connections, sessions = mean(c.connections for c in counts), mean(c.sessions for c in counts)
    return elapsed, connections, sessions, own, machine, hosts, began, ended


def where_time_goes(
    info: FleetInfo, wall: float, began: float, ended: float, result: OperationResult | None
) -> dict[str, object]:
    """The sample's host work and overhead (kamal_nb.testing.host_work: the busiest host's own work,
    from its engine's events), and for kamal_nb its critical path split by phase and each host and
    role's phases (kamal_nb.testing.critical_path, from the result's timeline)."""
    work = {h.ip: host_work.intervals(host_work.engine_events(h.docker_socket, began, ended)) for h in info.hosts}
    busiest = max(work, key=lambda ip: host_work.busy(work[ip]))
    host_work_s = host_work.busy(work[busiest])
    extra: dict[str, object] = {
        "host_work_s": host_work_s,
        "overhead_s": wall - host_work_s,
        "host_work_host": busiest,
        "host_work_by_kind": {k: round(v, 4) for k, v in host_work.by_kind(work[busiest]).items()},
    }
    if result is not None:
        steps = critical_path.steps_of({h: r.commands for h, r in result.hosts.items()})
        spans = {ip: [(i.start, i.end) for i in found] for ip, found in work.items()}
        path = critical_path.with_host_work(critical_path.critical_path(steps, began, ended, ROLES), spans)
        extra["critical_path"] = [
            {
                "phase": p.phase,
                "steps": p.steps,
                "seconds": round(p.seconds, 4),
                "host_work_s": round(p.host_work, 4),
                "hosts": list(p.hosts),
            }
            for p in critical_path.split(path)
        ]
        extra["lanes"] = {
            lane: {phase: round(s, 4) for phase, s in phases.items()}
            for lane, phases in critical_path.lanes(steps, ROLES).items()
        }
    return extra


def kamal(project: Path, *args: str) -> Callable[[], None]:
    def action() -> None:
        done = real_kamal(project, *args)
        if done.returncode != 0:
            raise RuntimeError(f"kamal {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    return action


def ours(
    session: Session,
    path: tuple[str, ...],
    args: dict[str, object],
    version: str | None = None,
    keep: list[OperationResult] | None = None,
) -> Callable[[], None]:
    def action() -> None:
        result = catalog.perform(session.context(GlobalOptions(version=version)), path, args, yes=True)
        if not isinstance(result, OperationResult) or not result.ok or result.data is False:
            raise RuntimeError(f"kamal_nb {' '.join(path)} failed:\n{result}")
        if keep is not None:
            keep.append(result)  # its timeline, for where the time went

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
                        # Kamal's own start-up (Ruby, its gems, the config), no host touched: the
                        # "vs work" ratio subtracts it from Kamal's times
                        started = time.monotonic()
                        kamal(project, "version")()
                        samples.add(Sample("version", hosts, rtt, "kamal", time.monotonic() - started, round=round_))
                        for tool in in_turn(TOOLS, round_):
                            results: list[OperationResult] = []
                            if tool == "kamal":
                                redeploy = kamal(project, "redeploy", "-P", "--version", "v1")
                                rollback = kamal(project, "rollback", "v2")
                            else:
                                redeploy = ours(session, ("redeploy",), {"skip_push": True}, "v1", keep=results)
                                rollback = ours(session, ("rollback",), {"version": "v2"}, keep=results)
                            for operation, action in (("redeploy", redeploy), ("rollback", rollback)):
                                relay_cpu, at_load = relay.cpu_seconds(), load()
                                wall, conns, sessions, own, machine, host_cpu, began, ended = measure(info, action)
                                result = results.pop() if results else None
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
                                            **where_time_goes(info, wall, began, ended, result),
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
        f"{'hosts':>5} {'rtt ms':>6} {'load':>5}  {'operation':<9} {'kamal s':>8} {'kamal_nb s':>10} {'ratio':>6} "
        f"{'vs work':>7}  "
        f"{'conn/host k':>11} {'conn/host nb':>12}  {'sess/host k':>11} {'sess/host nb':>12}  "
        f"{'cpu k':>6} {'cpu nb':>6}  {'hosts cpu k':>11} {'hosts cpu nb':>12}  {'relay cpu':>9}  "
        f"{'host work s':>11} {'overhead s':>10} {'overhead k':>10}"
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
                start_up = samples.median(hosts=hosts, rtt_ms=rtt, operation="version", tool="kamal")
                work = kw - start_up if kw is not None and start_up is not None else None
                print(
                    f"{hosts:>5} {rtt:>6g} {rows[0].load:>5.1f}  {operation:<9} {kw or 0:>8.2f} {nw or 0:>10.2f} "
                    f"{ratio(nw, kw):>6} {ratio(nw, work):>7}  {extra('connections_per_host', k):>11.1f} "
                    f"{extra('connections_per_host', nb):>12.1f}  {samples.median('sessions_per_host', **k) or 0:>11.1f} "
                    f"{samples.median('sessions_per_host', **nb) or 0:>12.1f}  "
                    f"{samples.median('tool_cpu_s', **k) or 0:>6.2f} {samples.median('tool_cpu_s', **nb) or 0:>6.2f}  "
                    f"{extra('hosts_cpu_s', k):>11.2f} {extra('hosts_cpu_s', nb):>12.2f}  "
                    f"{sum(s.relay_cpu_s or 0 for s in rows):>9.2f}  "
                    f"{extra('host_work_s', nb):>11.2f} {extra('overhead_s', nb):>10.2f} {extra('overhead_s', k):>10.2f}"
                )
    print(
        f"(medians of {args.rounds} rounds, the tools alternating which goes first; vs work: the ratio to Kamal's "
        "time less its start-up (`kamal version`, measured each round); sessions = SSH commands + "
        "uploads per host, from the sshd logs; cpu: the tool's own CPU seconds (Kamal's process; this process "
        "for kamal_nb); hosts cpu: the CPU seconds of every process in the hosts' namespaces (sshd, shells, "
        "docker CLI, dockerd); relay cpu: the delay relay's, over the setting; load: the 1-minute load "
        f"average at the setting's first sample ({os.cpu_count()} cores); host work: the busiest host's own "
        "work, timed by its docker engine (pull, docker run, the proxy's health check and switch, the old "
        "container's stop: see kamal_nb.testing.host_work); overhead: the wall time less it, the tool's own "
        "(kamal_nb's; k: Kamal's))"
    )
    for hosts in args.hosts:
        for rtt in args.rtt_ms:
            for operation in ("redeploy", "rollback"):
                print_breakdown(samples.select(hosts=hosts, rtt_ms=rtt, operation=operation, tool="kamal_nb"))


def print_breakdown(runs: list[Sample]) -> None:
    """The median kamal_nb run's critical path, phase by phase: host work and kamal_nb's own."""
    if not runs:
        return
    run = sorted(runs, key=lambda s: s.wall_s)[(len(runs) - 1) // 2]
    busiest = run.extra["host_work_by_kind"]
    print(
        f"\n{run.operation}, {run.hosts} hosts, rtt {run.rtt_ms:g} ms: the median kamal_nb run (round "
        f"{run.round + 1}), wall {run.wall_s:.2f} s = host work {run.extra['host_work_s']:.2f} s (the busiest "
        f"host, {run.extra['host_work_host']}: "
        + ", ".join(f"{kind} {seconds:.2f}" for kind, seconds in busiest.items())
        + f") + kamal_nb overhead {run.extra['overhead_s']:.2f} s"
    )
    print(f"  {'critical path':<14} {'steps':>5} {'seconds':>8} {'host work':>9} {'kamal_nb':>8}  hosts")
    for phase in run.extra["critical_path"]:
        own = phase["seconds"] - phase["host_work_s"]
        print(
            f"  {phase['phase']:<14} {phase['steps']:>5} {phase['seconds']:>8.3f} {phase['host_work_s']:>9.3f} "
            f"{own:>8.3f}  {', '.join(phase['hosts'])}"
        )
    path = run.extra["critical_path"]
    total, work = sum(p["seconds"] for p in path), sum(p["host_work_s"] for p in path)
    print(
        f"  {'total':<14} {sum(p['steps'] for p in path):>5} {total:>8.3f} {work:>9.3f} {total - work:>8.3f}  "
        "(start: before the first command; end: after the last, the lock's release; a gap before a step "
        "counts in its phase, as kamal_nb's)"
    )


if __name__ == "__main__":
    main()
