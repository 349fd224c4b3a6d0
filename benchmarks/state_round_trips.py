"""SSH commands and time to gather the fleet's state, on 8 real hosts deployed by the real Kamal.

    .venv/bin/python benchmarks/state_round_trips.py [--hosts 8] [--rounds 5]

Brings up its own fleet (10.220.0.0/24, names s8-*), deploys the demo app with the real Kamal
(setup v1, deploy v2, a lock), then gathers state with kamal_nb: once cold (new SSH connections)
and `--rounds` times warm (the session's pooled connections). SSH commands per host are counted
from each host's sshd log (LogLevel VERBOSE): `Starting session:` is one command (exec channel),
`Accepted publickey` one new connection. For comparison, the same facts asked of the real Kamal
(`details`, `audit`, `lock status`, `app containers`, `app images`), which prints them as text.
"""

from __future__ import annotations

import argparse
import functools
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kamal_nb.ops.options import GlobalOptions  # noqa: E402
from kamal_nb.ops.session import Session  # noqa: E402
from kamal_nb.state import FleetState, gather  # noqa: E402
from kamal_nb.testing.fleet import Fleet, FleetInfo  # noqa: E402
from tests.fleet.project import deploy_config, real_kamal, write_project  # noqa: E402

KAMAL_EQUIVALENT = (("details",), ("audit",), ("lock", "status"), ("app", "containers"), ("app", "images"))


def log_counts(info: FleetInfo) -> dict[str, tuple[int, int]]:
    """host name -> (commands, connections) seen so far in its sshd log."""
    counts = {}
    for host in info.hosts:
        text = (Path(info.base) / "nodes" / host.name / "sshd.log").read_text()
        counts[host.name] = (text.count("Starting session:"), text.count("Accepted publickey"))
    return counts


def measured(info: FleetInfo, action: Callable[[], object]) -> tuple[float, dict[str, tuple[int, int]]]:
    before = log_counts(info)
    started = time.monotonic()
    action()
    elapsed = time.monotonic() - started
    time.sleep(0.2)  # let sshd flush its log lines
    after = log_counts(info)
    return elapsed, {h: (after[h][0] - before[h][0], after[h][1] - before[h][1]) for h in after}


def kamal(project: Path, *args: str) -> None:
    done = real_kamal(project, *args)
    if done.returncode != 0:
        raise SystemExit(f"kamal {' '.join(args)} failed:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")


def per_host(counts: dict[str, tuple[int, int]]) -> str:
    commands = sorted({c for c, _ in counts.values()})
    connections = sorted({n for _, n in counts.values()})
    return f"commands/host {'/'.join(map(str, commands))}, new connections/host {'/'.join(map(str, connections))}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kamal-nb-state-bench-") as base:
        fleet = Fleet(base, prefix="s8-", bridge="s8br0", subnet="10.220.0")
        try:
            info = fleet.up(args.hosts)
            ips = info.host_ips
            web, jobs = ips[: max(1, len(ips) * 5 // 8)], ips[max(1, len(ips) * 5 // 8) :]
            servers: dict[str, object] = {"web": web}
            if jobs:
                servers["jobs"] = {"hosts": jobs, "cmd": "/bin/sh /jobs.sh"}
            project = write_project(Path(base) / "app", info, deploy_config(info, servers=servers))
            started = time.monotonic()
            kamal(project, "setup", "-P", "--version", "v1")
            kamal(project, "deploy", "-P", "--version", "v2")
            kamal(project, "lock", "acquire", "-m", "benchmark")
            print(
                f"fleet: {len(ips)} hosts ({len(web)} web, {len(jobs)} jobs); real Kamal setup+deploy+lock "
                f"{time.monotonic() - started:.1f}s"
            )

            session = Session(root=project)
            ctx = session.context(GlobalOptions())
            states: list[FleetState] = []
            cold, cold_counts = measured(info, lambda: states.append(gather(ctx)))
            warm_times, warm_counts = [], []
            for _ in range(args.rounds):
                elapsed, counts = measured(info, lambda: states.append(gather(ctx)))
                warm_times.append(elapsed)
                warm_counts.append(counts)
            session.close()
            state = states[-1]
            rows = sum(len(t) for t in state.tables.values())
            print(f"kamal_nb gather cold: {cold:.3f}s  {per_host(cold_counts)}")
            print(
                f"kamal_nb gather warm: median {statistics.median(warm_times):.3f}s "
                f"(min {min(warm_times):.3f}s, max {max(warm_times):.3f}s, {args.rounds} rounds)  "
                f"{per_host({h: (max(c[h][0] for c in warm_counts), max(c[h][1] for c in warm_counts)) for h in warm_counts[0]})}"
            )
            print(
                f"  tables: {', '.join(f'{n} {len(t)}' for n, t in state.tables.items())} ({rows} rows); "
                f"findings: {[f.kind for f in state.finding_list]}"
            )
            import pandas  # noqa: F401 (imported once in a notebook: its ~0.2 s is not the tables')

            df_started = time.monotonic()
            for table in state.tables.values():
                table.df  # noqa: B018
            print(f"  building the 7 DataFrames: {time.monotonic() - df_started:.3f}s")

            total_time = 0.0
            total: dict[str, list[int]] = {h.name: [0, 0] for h in info.hosts}
            for command in KAMAL_EQUIVALENT:
                elapsed, counts = measured(info, functools.partial(kamal, project, *command))
                total_time += elapsed
                for host, (commands, connections) in counts.items():
                    total[host][0] += commands
                    total[host][1] += connections
            print(
                f"real Kamal {' + '.join(' '.join(c) for c in KAMAL_EQUIVALENT)}: {total_time:.2f}s  "
                f"{per_host({h: (c[0], c[1]) for h, c in total.items()})}"
            )
        finally:
            fleet.down()


if __name__ == "__main__":
    main()
