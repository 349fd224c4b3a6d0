"""Fleet questions, kamal_nb against the real Kamal, side by side on the same fleet (needs root).

    python benchmarks/readonly_vs_kamal.py [--hosts 3 8] [--rounds 5] [--rtt-ms 0 30 100] [--json FILE]

For each fleet size: a fresh fleet, the demo app deployed by the real Kamal, then, at each
round-trip time (a delaying relay on the SSH path; 0: none), `details` and `lock status` asked of
the real Kamal (a process per question, as a terminal user runs it) and of kamal_nb cold (a new
Session: connections opened) and warm (the same Session again, as in a notebook), the three
alternating which goes first. Prints medians, the ratio to Kamal, SSH connections and sessions per
host counted from the hosts' sshd logs, and the load when each setting started. (`kamal-nb` as a
new process: benchmarks/startup.py.)
"""

from __future__ import annotations

import argparse
import functools
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing.bench import Sample, Samples, add_common_arguments, in_turn, load, mean, ratio
from kamal_nb.testing.delay_relay import DelayRelay
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, real_kamal, write_project
from kamal_nb.testing.sshlog import SshCounter

QUESTIONS = {"details": ("details",), "lock status": ("lock", "status")}
TOOLS = ("kamal", "kamal_nb cold", "kamal_nb warm")


def measured(info: FleetInfo, action: Callable[[], object]) -> tuple[float, float, float, float]:
    """(wall, connections per host, sessions per host, CPU of this process and its children)."""
    counter = SshCounter(info)
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    started = time.monotonic()
    action()
    elapsed = time.monotonic() - started
    after = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    cpu = sum((a.ru_utime - b.ru_utime) + (a.ru_stime - b.ru_stime) for a, b in zip(after, usage, strict=True))
    time.sleep(0.2)
    counts = list(counter.counts().values())
    return elapsed, mean(c.connections for c in counts), mean(c.sessions for c in counts), cpu


def bench(hosts: int, rounds: int, rtts: list[float], subnet: str, samples: Samples) -> None:
    with tempfile.TemporaryDirectory(prefix="kamal-nb-bench-") as base:
        fleet = Fleet(Path(base) / "fleet", prefix=f"q{hosts}-", bridge=f"q{hosts}br0", subnet=subnet)
        info = fleet.up(hosts)
        try:
            ips = info.host_ips  # every host serves: web behind the proxy, the last one jobs
            servers = {"web": ips[:-1], "jobs": {"hosts": ips[-1:], "cmd": "/bin/sh /jobs.sh"}}
            project = write_project(Path(base) / "app", info, deploy_config(info, servers=servers))
            setup = real_kamal(project, "setup", "-P", "--version", "v1")
            if setup.returncode != 0:
                raise SystemExit(f"kamal setup failed:\n{setup.stdout[-2000:]}{setup.stderr[-2000:]}")
            for rtt in rtts:
                with DelayRelay(ips, rtt_ms=rtt, tag=f"q{hosts}") as relay:
                    # warm: connections opened once, by a question not counted (a new Session each
                    # round made the round's first question, details, a cold one)
                    session = Session(root=project)
                    catalog.perform(session.context(), ("details",), {})
                    for round_ in range(rounds):
                        for name, path in QUESTIONS.items():
                            for tool in in_turn(TOOLS, round_):
                                action = functools.partial(ask, tool, project, path, session)
                                relay_cpu, at_load = relay.cpu_seconds(), load()
                                wall, conns, sessions, cpu = measured(info, action)
                                samples.add(
                                    Sample(
                                        name,
                                        hosts,
                                        rtt,
                                        tool,
                                        wall,
                                        sessions,
                                        cpu,
                                        round_,
                                        at_load,
                                        relay.cpu_seconds() - relay_cpu,
                                        {"connections_per_host": conns},
                                    )
                                )
                    session.close()
        finally:
            fleet.down()


def ask(tool: str, project: Path, path: tuple[str, ...], warm: Session) -> None:
    if tool == "kamal":
        real_kamal(project, *path)
    elif tool == "kamal_nb cold":  # a Session of its own: new connections
        session = Session(root=project)
        try:
            catalog.perform(session.context(GlobalOptions()), path, {})
        finally:
            session.close()
    else:
        catalog.perform(warm.context(), path, {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 8])
    add_common_arguments(parser)
    args = parser.parse_args()
    samples = Samples(args.json)
    for hosts in args.hosts:
        bench(hosts, args.rounds, args.rtt_ms, f"10.23{hosts % 10}.0", samples)
    samples.close()
    print(
        f"{'hosts':>5} {'rtt ms':>6} {'load':>5}  {'question':<12} {'who':<14} {'median':>8} {'vs kamal':>9} "
        f"{'conn/host':>9} {'sess/host':>9} {'cpu s':>6}"
    )
    for hosts in args.hosts:
        for rtt in args.rtt_ms:
            for name in QUESTIONS:
                kamal_time = samples.median(operation=name, tool="kamal", hosts=hosts, rtt_ms=rtt)
                for who in TOOLS:
                    rows = samples.select(operation=name, tool=who, hosts=hosts, rtt_ms=rtt)
                    seconds = statistics.median(s.wall_s for s in rows)
                    print(
                        f"{hosts:>5} {rtt:>6g} {rows[0].load:>5.1f}  {name:<12} {who:<14} {seconds:>7.3f}s "
                        f"{ratio(seconds, kamal_time):>9} {statistics.median(s.extra['connections_per_host'] for s in rows):>9.1f} "
                        f"{statistics.median(s.sessions_per_host or 0 for s in rows):>9.1f} "
                        f"{statistics.median(s.tool_cpu_s or 0 for s in rows):>6.3f}"
                    )
    print(
        f"(medians of {args.rounds} rounds, the three alternating which goes first; cpu: this process's and "
        "its children's CPU (Kamal's process for kamal); load: the 1-minute load average at the setting's first sample)"
    )


if __name__ == "__main__":
    main()
