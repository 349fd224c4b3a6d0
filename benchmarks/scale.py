"""How kamal_nb and the real Kamal grow with the fleet, beside the machine's floor (needs root).

    python benchmarks/scale.py [--hosts 3 8 30] [--rounds 3] [--no-redeploy] [--rtt-ms 0] [--json FILE]

For each fleet size a fresh fleet of its own (10.227.0.0/24, names z<N>-*), web behind the proxy on
all hosts but the last, jobs on the last, set up by the real Kamal at v1 and deployed at v2. Then,
`--rounds` times, the tools alternating which goes first: `details` (Kamal as a process; kamal_nb
cold, a new Session, and warm, the same Session again), kamal_nb's `state` (all tables; cold and
warm; Kamal has no such command) and `redeploy -P` of v2 (both tools).

Every host shares this machine's cores, so a fleet question cannot finish before the hosts have
done their own work for it: the floor printed beside each wall time is the hosts' busy CPU during
it (every process in the hosts' namespaces: sshd and its sessions, the shells and docker CLI calls,
dockerd, containerd) divided by the cores. `nb cpu/host` is kamal_nb's own CPU per host (this
process), which should stay flat as the fleet grows. The load average is printed per size:
other work on the machine is not in the floor, but slows every wall time.
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
from kamal_nb.testing.bench import Sample, Samples, add_common_arguments, hosts_cpu_seconds, in_turn, load, mean
from kamal_nb.testing.delay_relay import DelayRelay
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, real_kamal, write_project
from kamal_nb.testing.sshlog import SshCounter

SUBNET = "10.227.0"
CORES = os.cpu_count() or 1


def own_cpu() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def kamal(project: Path, *args: str) -> Callable[[], None]:
    def action() -> None:
        done = real_kamal(project, *args, timeout=900)
        if done.returncode != 0:
            raise RuntimeError(f"kamal {' '.join(args)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")

    return action


def ours(
    session: Session | None, project: Path, path: tuple[str, ...], version: str | None = None, **args: object
) -> Callable[[], None]:
    """kamal_nb's operation in `session` (warm), or in a new Session closed after it (cold)."""

    def action() -> None:
        own = session or Session(root=project)
        try:
            result = catalog.perform(own.context(GlobalOptions(version=version)), path, dict(args), yes=True)
            if isinstance(result, OperationResult) and not result.ok:
                raise RuntimeError(f"kamal_nb {' '.join(path)} failed:\n{result}")
        finally:
            if session is None:
                own.close()

    return action


def measure(
    samples: Samples,
    info: FleetInfo,
    relay: DelayRelay,
    operation: str,
    tool: str,
    round_: int,
    action: Callable[[], None],
) -> None:
    namespaces = [f"{info.prefix}{h.name}" for h in info.hosts]
    counter, at_load = SshCounter(info), load()
    relay_cpu, cpu, hosts_cpu = relay.cpu_seconds(), own_cpu(), hosts_cpu_seconds(namespaces)
    started = time.monotonic()
    action()
    wall = time.monotonic() - started
    cpu, hosts_cpu = own_cpu() - cpu, hosts_cpu_seconds(namespaces) - hosts_cpu
    time.sleep(0.2)  # sshd writes its log lines
    counts = counter.counts().values()
    samples.add(
        Sample(
            operation,
            len(info.hosts),
            relay.rtt_ms,
            tool,
            wall,
            mean(c.sessions for c in counts),
            cpu,
            round_,
            at_load,
            relay.cpu_seconds() - relay_cpu,
            {"hosts_cpu_s": hosts_cpu, "floor_s": hosts_cpu / CORES},
        )
    )


def bench(hosts: int, rounds: int, rtts: list[float], redeploy: bool, base: Path, samples: Samples) -> None:
    fleet = Fleet(base / f"fleet{hosts}", prefix=f"z{hosts}-", bridge=f"z{hosts}br0", subnet=SUBNET)
    info = fleet.up(hosts)
    try:
        ips = info.host_ips
        servers = {"web": ips[:-1], "jobs": {"hosts": ips[-1:], "cmd": "/bin/sh /jobs.sh"}}
        project = write_project(base / f"app{hosts}", info, deploy_config(info, servers=servers))
        started = time.monotonic()
        for args in (("setup", "-P", "--version", "v1"), ("deploy", "-P", "--version", "v2")):
            kamal(project, *args)()
        print(f"  {hosts} hosts: Kamal setup + deploy {time.monotonic() - started:.1f}s", file=sys.stderr, flush=True)
        import kamal_nb.state.operation  # noqa: F401 (registers `state`)

        for rtt in rtts:
            with DelayRelay(ips, rtt_ms=rtt, tag=f"z{hosts}") as relay:
                session = Session(root=project)
                try:
                    ours(session, project, ("app", "version"))()  # warm-up: the session's connections
                    for round_ in range(rounds):
                        steps: list[tuple[str, str, Callable[[], None]]] = []
                        for tool in in_turn(("kamal", "kamal_nb"), round_):
                            if tool == "kamal":
                                steps.append(("details", "kamal", kamal(project, "details", "-q")))
                            else:
                                steps += [
                                    ("details", "kamal_nb cold", ours(None, project, ("details",))),
                                    ("details", "kamal_nb warm", ours(session, project, ("details",))),
                                    ("state", "kamal_nb cold", ours(None, project, ("state",))),
                                    ("state", "kamal_nb warm", ours(session, project, ("state",))),
                                ]
                        if redeploy:
                            pair = [
                                ("redeploy", "kamal", kamal(project, "redeploy", "-P", "--version", "v2")),
                                (
                                    "redeploy",
                                    "kamal_nb warm",
                                    ours(session, project, ("redeploy",), skip_push=True, version="v2"),
                                ),
                            ]
                            steps += pair if round_ % 2 == 0 else pair[::-1]
                        for operation, tool, action in steps:
                            measure(samples, info, relay, operation, tool, round_, action)
                        print(
                            f"  {hosts} hosts, rtt {rtt:g} ms: round {round_ + 1}/{rounds} (load {load()})",
                            file=sys.stderr,
                            flush=True,
                        )
                finally:
                    session.close()
    finally:
        fleet.down()


def report(samples: Samples, sizes: list[int], rtts: list[float], rounds: int) -> None:
    print(
        f"{'hosts':>5} {'rtt':>4} {'load':>5}  {'operation':<9} {'who':<14} {'wall s':>7} {'floor s':>7} "
        f"{'wall/floor':>10} {'vs kamal':>8} {'hosts cpu/host':>14} {'nb cpu/host':>11} {'sess/host':>9}"
    )
    for hosts in sizes:
        for rtt in rtts:
            for operation in ("details", "state", "redeploy"):
                kamal_wall = samples.median(hosts=hosts, rtt_ms=rtt, operation=operation, tool="kamal")
                for who in ("kamal", "kamal_nb cold", "kamal_nb warm"):
                    rows = samples.select(hosts=hosts, rtt_ms=rtt, operation=operation, tool=who)
                    if not rows:
                        continue
                    wall = statistics.median(s.wall_s for s in rows)
                    floor = statistics.median(s.extra["floor_s"] for s in rows)
                    hosts_cpu = statistics.median(s.extra["hosts_cpu_s"] for s in rows) / hosts
                    nb_cpu = statistics.median(s.tool_cpu_s or 0 for s in rows) / hosts if who != "kamal" else None
                    print(
                        f"{hosts:>5} {rtt:>4g} {rows[0].load:>5.1f}  {operation:<9} {who:<14} {wall:>7.3f} {floor:>7.3f} "
                        f"{wall / floor if floor else 0:>9.2f}x "
                        f"{(f'{wall / kamal_wall:.2f}x' if kamal_wall and who != 'kamal' else '-'):>8} "
                        f"{hosts_cpu * 1000:>11.1f} ms "
                        f"{(f'{nb_cpu * 1000:.1f} ms' if nb_cpu is not None else '-'):>11} "
                        f"{statistics.median(s.sessions_per_host or 0 for s in rows):>9.1f}"
                    )
    print(
        f"(medians of {rounds} rounds; floor = the hosts' busy CPU during it / {CORES} cores; hosts cpu/host: "
        "that CPU per host; nb cpu/host: this process's CPU per host (kamal_nb's own work); load: the 1-minute "
        "load average at the row's first sample)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 8, 30])
    parser.add_argument("--no-redeploy", action="store_true", help="only the fleet questions")
    add_common_arguments(parser, rounds=3)
    args = parser.parse_args()
    samples = Samples(args.json)
    with tempfile.TemporaryDirectory(prefix="kamal-nb-scale-") as base:
        for hosts in args.hosts:
            bench(hosts, args.rounds, args.rtt_ms, not args.no_redeploy, Path(base), samples)
    samples.close()
    report(samples, args.hosts, args.rtt_ms, args.rounds)


if __name__ == "__main__":
    main()
