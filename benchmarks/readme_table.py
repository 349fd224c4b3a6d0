"""Every benchmark in one run, printed as the README's table (needs root: each script brings up a
fleet of its own and takes it down).

    python benchmarks/readme_table.py [--rounds 5] [--keep DIR]

The scripts run one after the other, as listed in RUNS, each writing its samples as JSON lines
(`--json`); each row of the table is the medians of one measurement (an operation at a fleet size
and round-trip time), with the 1-minute load average when its first sample was taken, and the ratio
to Kamal twice: as a terminal user sees it, and against Kamal's work alone (its `kamal version`
start-up subtracted, where the script measures it); where the script measures a floor for a
question, it follows kamal_nb's time: the hosts' busy CPU during it over the cores
(benchmarks/scale.py), or a bare paramiko process asking the hosts the same commands
(benchmarks/startup.py). The scripts' own reports go to stderr as they run; the table, in markdown,
to stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SETTLED_LOAD = 1.5  # on 2 cores
SETTLE_S = 240.0


@dataclass(frozen=True)
class Row:
    what: str
    operation: str
    ours: str  # the kamal_nb tool compared (the scripts measure it several ways)
    kamal: str | None = "kamal"  # None: Kamal has no such command
    # the tool whose time is the floor for it (startup.py's bare paramiko process); else the
    # samples' own floor_s, where the script measures one
    floor: str | None = None


@dataclass(frozen=True)
class Run:
    script: str
    arguments: tuple[str, ...]
    rows: tuple[Row, ...]


RUNS = (
    Run(
        "startup.py",
        ("--hosts", "3"),
        (
            Row("`kamal-nb version`, process", "version", "kamal_nb"),
            Row("`kamal-nb details`, process", "details", "kamal_nb", floor="floor"),
        ),
    ),
    Run(
        "readonly_vs_kamal.py",
        ("--hosts", "3"),
        (
            Row("`details`, warm", "details", "kamal_nb warm"),
            Row("`lock status`, warm", "lock status", "kamal_nb warm"),
        ),
    ),
    Run(
        "redeploy_rollback.py",
        ("--hosts", "3", "--rtt-ms", "0", "30", "100"),
        (Row("`redeploy -P`", "redeploy", "kamal_nb"), Row("`rollback`", "rollback", "kamal_nb")),
    ),
    Run(
        "redeploy_rollback.py",
        ("--hosts", "8"),
        (Row("`redeploy -P`", "redeploy", "kamal_nb"), Row("`rollback`", "rollback", "kamal_nb")),
    ),
    Run(
        "throughput.py",
        (),
        (Row("`server exec` of 10 MB of short lines, process", "server exec 10 MB", "kamal_nb process"),),
    ),
    Run(
        "scale.py",
        ("--hosts", "8", "50", "--no-redeploy"),
        (
            Row("`details`, warm", "details", "kamal_nb warm"),
            Row("fleet state (all tables), warm", "state", "kamal_nb warm", kamal=None),
        ),
    ),
)


def settle(below: float = SETTLED_LOAD, at_most: float = SETTLE_S) -> None:
    """Wait, at most `at_most` seconds, for the 1-minute load average to fall under `below`: a fleet
    just taken down (50 hosts) leaves it high for minutes, and each row reports it."""
    deadline = time.monotonic() + at_most
    while (current := os.getloadavg()[0]) >= below and time.monotonic() < deadline:
        print(f"readme_table: waiting for the load ({current:.1f}) to fall under {below:g}", file=sys.stderr)
        time.sleep(10)


def samples_of(run: Run, rounds: int, directory: Path) -> list[dict[str, Any]]:
    """Run one script; its samples. A script that fails ends the whole run (its output says why)."""
    settle()
    out = directory / f"{run.script.removesuffix('.py')}-{len(list(directory.iterdir()))}.jsonl"
    argv = [sys.executable, str(HERE / run.script), *run.arguments, "--rounds", str(rounds), "--json", str(out)]
    print(f"readme_table: {' '.join(argv[1:])}", file=sys.stderr, flush=True)
    done = subprocess.run(argv, stdout=sys.stderr, check=False)
    if done.returncode != 0:
        raise SystemExit(f"readme_table: {run.script} failed (exit {done.returncode})")
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


def median(samples: list[dict[str, Any]], key: str, **where: object) -> float | None:
    values = [s[key] for s in samples if s.get(key) is not None and all(s.get(k) == v for k, v in where.items())]
    return statistics.median(values) if values else None


def seconds(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value * 1000:.0f} ms" if value < 0.1 else f"{value:.2f} s"


def commands(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def rows_of(run: Run, samples: list[dict[str, Any]]) -> list[str]:
    lines = []
    settings = sorted({(s["hosts"], s["rtt_ms"]) for s in samples})
    for row in run.rows:
        for hosts, rtt in settings:
            where = {"operation": row.operation, "hosts": hosts, "rtt_ms": rtt}
            taken = [s for s in samples if all(s.get(k) == v for k, v in where.items())]
            if not taken:
                continue
            ours = median(samples, "wall_s", tool=row.ours, **where)
            kamal = median(samples, "wall_s", tool=row.kamal, **where) if row.kamal else None
            ratio = f"{ours / kamal:.2f}x" if ours is not None and kamal else "-"
            # against Kamal's work alone: its start-up (`kamal version`), where the script measured it, less
            start_up = median(samples, "wall_s", operation="version", tool="kamal", hosts=hosts, rtt_ms=rtt)
            work = (
                kamal - start_up if kamal is not None and start_up is not None and row.operation != "version" else None
            )
            vs_work = f"{ours / work:.2f}x" if ours is not None and work else "-"
            sessions = (
                f"{commands(median(samples, 'sessions_per_host', tool=row.kamal, **where))} -> "
                f"{commands(median(samples, 'sessions_per_host', tool=row.ours, **where))}"
                if row.kamal
                else commands(median(samples, "sessions_per_host", tool=row.ours, **where))
            )
            # the floor for it, where the script measures one: a bare process's time (startup.py), or
            # the hosts' busy CPU over the cores (scale.py)
            floor = (
                median(samples, "wall_s", tool=row.floor, **where)
                if row.floor
                else median(samples, "floor_s", tool=row.ours, **where)
            )
            ours_cell = seconds(ours) if floor is None else f"{seconds(ours)} (floor {seconds(floor)})"
            lines.append(
                f"| {row.what} | {hosts} | {rtt:g} | {taken[0]['load']:.1f} | {seconds(kamal)} | {ours_cell} "
                f"| {ratio} | {vs_work} | {sessions} | `benchmarks/{run.script}` |"
            )
    return lines


def load_time_row() -> str:
    """`%load_ext kamal_nb` (benchmarks/load_time.py prints its median; it keeps no samples)."""
    at_load = os.getloadavg()[0]
    done = subprocess.run(
        [sys.executable, str(HERE / "load_time.py")], capture_output=True, text=True, check=True
    ).stdout
    print(done, file=sys.stderr, end="")
    ms = done.split("median ", 1)[1].split(" ms", 1)[0]
    return f"| `%load_ext kamal_nb` | - | - | {at_load:.1f} | - | {ms} ms | - | - | - | `benchmarks/load_time.py` |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds of each script (default 5)")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep every script's JSON lines in DIR")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="kamal-nb-readme-table-") as scratch:
        directory = args.keep or Path(scratch)
        directory.mkdir(parents=True, exist_ok=True)
        settle()
        load_time = load_time_row()  # first: every script after it brings up a fleet
        lines = [
            "| what | hosts | RTT ms | load | Kamal | kamal_nb | ratio | vs Kamal's work | commands/host (Kamal -> kamal_nb) | script |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for run in RUNS:
            lines += rows_of(run, samples_of(run, args.rounds, directory))
        lines.append(load_time)
    print("\n".join(lines))


if __name__ == "__main__":
    main()
