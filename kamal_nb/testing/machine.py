"""What the test fleet needs of this machine: its Debian packages, commands run and waited for, and
processes stopped by their own PIDs (never by name)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

DEBIAN_PACKAGES = {  # binary -> Debian package that provides it
    "/usr/sbin/dockerd": "docker.io",
    "/usr/sbin/sshd": "openssh-server",
    "/usr/bin/docker-registry": "docker-registry",
    "/bin/busybox": "busybox-static",
    "/usr/sbin/ip": "iproute2",
    "/usr/sbin/iptables": "iptables",
    # not the fleet's own: the ERB tests render every case with a real Ruby as well as the built-in one
    "/usr/bin/ruby": "ruby",
}


class FleetError(RuntimeError):
    """The fleet could not be brought up or down; the message says which step and which node."""


def log(message: str) -> None:
    print(f"[fleet {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def run(*argv: str, check: bool = True, quiet: bool = False) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and proc.returncode != 0:
        raise FleetError(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    if not quiet and proc.returncode != 0:
        log(f"ignored: {' '.join(argv)}: {proc.stderr.strip()}")
    return proc


def wait_until(what: str, predicate: Callable[[], bool], timeout: float, log_file: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            tail = ""
            if log_file is not None and log_file.exists():
                tail = f"; the end of {log_file}:\n" + "\n".join(log_file.read_text().splitlines()[-5:])
            raise FleetError(f"timed out after {timeout:.0f}s waiting for {what}{tail}")
        time.sleep(0.05)


def missing_requirements() -> list[str]:
    """Why this machine cannot run the fleet (empty when it can)."""
    reasons = []
    if sys.platform != "linux":
        reasons.append("the test fleet needs Linux namespaces")
    elif os.geteuid() != 0:
        reasons.append("the test fleet needs root (network, mount and UTS namespaces)")
    elif not Path("/proc/self/ns/net").exists():
        reasons.append("this kernel has no network namespaces")
    for tool in ("nsenter", "unshare"):
        if shutil.which(tool) is None:
            reasons.append(f"{tool} (util-linux) is missing")
    return reasons


def install_packages() -> None:
    """apt-get install the Debian packages the fleet needs, when any is missing."""
    missing = sorted({pkg for binary, pkg in DEBIAN_PACKAGES.items() if not Path(binary).exists()})
    if not missing:
        return
    if shutil.which("apt-get") is None:
        raise FleetError(f"missing packages {', '.join(missing)} and no apt-get to install them")
    log(f"installing {' '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing],
        check=True,
        env=env,
        stdout=subprocess.DEVNULL,
    )


def pid_alive(pid: int) -> bool:
    """True while ``pid`` runs. Zombies count as dead: PID 1 here reaps late (test-fleet.md, gotcha 4)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return not any(line.startswith("State:") and "Z" in line for line in status.splitlines())


def stop_pids(pids: Sequence[int], timeout: float = 10.0) -> None:
    """SIGTERM each pid, wait up to ``timeout`` (zombie-aware), then SIGKILL what is left."""
    alive = [p for p in pids if pid_alive(p)]
    for pid in alive:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while any(pid_alive(p) for p in alive) and time.monotonic() < deadline:
        time.sleep(0.05)
    for pid in alive:
        if pid_alive(pid):
            log(f"pid {pid} ignored SIGTERM, sending SIGKILL")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def program(pid: int) -> str | None:
    """The name of the program `pid` runs (None once it has exited: the host's commands come and go)."""
    try:
        return Path(f"/proc/{pid}/exe").resolve(strict=True).name
    except OSError:
        return None


def read_pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None
