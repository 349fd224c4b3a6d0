"""Fleet questions, kamal_nb against the real Kamal, side by side on the same fleet (needs root).

    python benchmarks/readonly_vs_kamal.py [--hosts 3 8] [--rounds 5]

For each fleet size: a fresh fleet, the demo app deployed by the real Kamal, then `details` and
`lock status` asked of the real Kamal (a process per question, as a terminal user runs it) and of
kamal_nb cold (a new Session: connections opened) and warm (the same Session again, as in a
notebook). Prints medians, the ratio to Kamal, and SSH connections and commands per host counted
from the hosts' sshd logs.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, real_kamal, write_project
from kamal_nb.testing.sshlog import SshCounter

QUESTIONS = {"details": ("details",), "lock status": ("lock", "status")}


def connections(info: FleetInfo, action: Callable[[], object]) -> tuple[float, float, float]:
    counter = SshCounter(info)
    started = time.monotonic()
    action()
    elapsed = time.monotonic() - started
    time.sleep(0.2)
    counts = list(counter.counts().values())
    return elapsed, statistics.mean(c.connections for c in counts), statistics.mean(c.commands for c in counts)


def bench(hosts: int, rounds: int, subnet: str) -> list[tuple[str, str, float, float, float]]:
    rows = []
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
            for name, path in QUESTIONS.items():
                kamal = [connections(info, lambda p=path: real_kamal(project, *p)) for _ in range(rounds)]  # type: ignore[misc]
                cold, warm = [], []
                for _ in range(rounds):
                    session = Session(root=project)
                    ctx = session.context(GlobalOptions())
                    cold.append(connections(info, lambda c=ctx, p=path: catalog.perform(c, p, {})))  # type: ignore[misc]
                    warm.append(connections(info, lambda p=path, s=session: catalog.perform(s.context(), p, {})))  # type: ignore[misc]
                    session.close()
                for label, samples in (("kamal", kamal), ("kamal_nb cold", cold), ("kamal_nb warm", warm)):
                    rows.append(
                        (
                            name,
                            label,
                            statistics.median(s[0] for s in samples),
                            statistics.median(s[1] for s in samples),
                            statistics.median(s[2] for s in samples),
                        )
                    )
        finally:
            fleet.down()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 8])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"{'hosts':>5}  {'question':<12} {'who':<14} {'median':>8} {'vs kamal':>9} {'conn/host':>9} {'cmds/host':>9}")
    for hosts in args.hosts:
        rows = bench(hosts, args.rounds, subnet=f"10.23{hosts % 10}.0")
        kamal_time = {name: t for name, who, t, _, _ in rows if who == "kamal"}
        for name, who, seconds, conns, cmds in rows:
            ratio = seconds / kamal_time[name]
            print(f"{hosts:>5}  {name:<12} {who:<14} {seconds:>7.3f}s {ratio:>8.2f}x {conns:>9.1f} {cmds:>9.1f}")


if __name__ == "__main__":
    main()
