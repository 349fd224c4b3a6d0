"""Bring-up and tear-down times of the real test fleet (needs root).

    python benchmarks/fleet_lifecycle.py [--hosts 3 8] [--rounds 3]

Prints, per fleet size, the time to bring up the engines, sshd and registry, to build and push the
images, to reach every host over SSH once, and to tear everything down.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from kamal_nb.testing.fleet import Fleet, show


def measure(hosts: int, rounds: int) -> dict[str, list[float]]:
    timings: dict[str, list[float]] = {"up (no images)": [], "up with images": [], "ssh to all": [], "down": []}
    with tempfile.TemporaryDirectory(prefix="kamal-nb-bench-") as base:
        fleet = Fleet(base, prefix="kb-", bridge="kbbr0", subnet="10.203.0")
        for round_ in range(rounds):
            started = time.monotonic()
            with_images = round_ % 2 == 1
            info = fleet.up(hosts, images=with_images)
            timings["up with images" if with_images else "up (no images)"].append(time.monotonic() - started)
            started = time.monotonic()
            show(info)
            timings["ssh to all"].append(time.monotonic() - started)
            timings["down"].append(fleet.down())
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hosts", type=int, nargs="+", default=[3, 8])
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    print(f"{'hosts':>5}  {'step':<16} {'median':>8} {'min':>8} {'max':>8}  runs")
    for hosts in args.hosts:
        for step, values in measure(hosts, args.rounds).items():
            if values:
                print(
                    f"{hosts:>5}  {step:<16} {statistics.median(values):>7.2f}s {min(values):>7.2f}s "
                    f"{max(values):>7.2f}s  {len(values)}"
                )


if __name__ == "__main__":
    main()
