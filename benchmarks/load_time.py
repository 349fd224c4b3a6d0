"""How long `%load_ext kamal_nb` takes, in a fresh interpreter each time (heavy imports are lazy).

    python benchmarks/load_time.py [--rounds 7]

Prints the median wall time of `%load_ext kamal_nb` in a new IPython shell, the import time of
`kamal_nb` itself from `python -X importtime`, and which heavy modules the load imported (none).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys

PROBE = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
started = time.perf_counter()
shell.run_line_magic("load_ext", "kamal_nb")
elapsed = time.perf_counter() - started
heavy = [m for m in ("pandas", "fabric", "paramiko", "docker", "ipywidgets", "yaml", "matplotlib") if m in sys.modules]
print(f"{elapsed * 1000:.1f} {','.join(heavy) or '-'}")
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    times: list[float] = []
    heavy: set[str] = set()
    for _ in range(args.rounds):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]))
        heavy.update(m for m in out[1].split(",") if m != "-")
    importtime = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import kamal_nb"], capture_output=True, text=True, check=True
    ).stderr.splitlines()
    own = next(line for line in reversed(importtime) if line.rstrip().endswith("| kamal_nb"))
    cumulative_us = int(own.split("|")[1])
    print(
        f"%load_ext kamal_nb: median {statistics.median(times):.1f} ms over {args.rounds} fresh shells (min {min(times):.1f} ms)"
    )
    print(f"import kamal_nb (python -X importtime, cumulative): {cumulative_us / 1000:.1f} ms")
    print(f"heavy modules imported by the load: {', '.join(sorted(heavy)) or 'none'}")


if __name__ == "__main__":
    main()
