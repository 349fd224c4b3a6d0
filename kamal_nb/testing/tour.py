"""``./dev demo``: the runbooks, headless, on the system the machine can run; one summary line at the end.

- As root with Docker (the real test fleet can run): a fresh 3-host fleet, the Kamal tutorial's images
  built (or found) in its registry (``images.tutorial``: the first time, a Debian root filesystem is
  built with debootstrap and cached), then four notebooks on the tutorial's system (the app on MySQL
  and Redis accessories): ``deploy-runbook`` boots the accessories and deploys ``v2`` through
  kamal-proxy, ``secrets-rotation`` rotates the real MySQL root password, ``backup-restore`` dumps the
  database and restores it into a fresh accessory, ``quickstart`` shows the result. The fleet is torn down
  at the end (``KEEP_FLEET=1`` keeps it).
- When the images cannot be built: one line saying why, and the busybox demo (``quickstart``,
  ``deploy-runbook``) on the same fleet.
- Without root or Docker (or when the fleet does not come up): one line saying why, and the busybox
  demo on a sandbox fleet (local-directory hosts).

The executed notebooks and their HTML go to ``--out``; no secret value may appear in them (checked).

    python -m kamal_nb.testing.tour --out artifacts/demo
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from kamal_nb.testing import demo
from kamal_nb.testing.fleet import Fleet, FleetError, FleetInfo, missing_requirements, numbered_fleet, show

HOSTS = 3
Tour = tuple[tuple[str, Mapping[str, object]], ...]
# notebook -> its parameters beside backend, fleet, project, system and confirm
# the quickstart last: it shows the system as the runbooks left it (both roles on v2, the accessories)
TUTORIAL_TOUR: Tour = (
    ("deploy-runbook", {"version": "v2"}),
    ("secrets-rotation", {"secret_name": "MYSQL_ROOT_PASSWORD", "database_accessory": "db"}),
    ("backup-restore", {}),
    ("quickstart", {}),
)
BUSYBOX_TOUR: Tour = (("quickstart", {}), ("deploy-runbook", {"version": "v2"}))
TUTORIAL_DID = "set up, v2 deployed through kamal-proxy, the MySQL password rotated, the database dumped and restored"
BUSYBOX_DID = "v2 deployed through kamal-proxy"


def say(line: str) -> None:
    print(f"dev demo: {line}", file=sys.stderr, flush=True)


def minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {int(seconds % 60):02d} s" if seconds >= 60 else f"{seconds:.0f} s"


def why_no_fleet() -> str | None:
    """Why the real test fleet cannot run here, in one line (None when it can)."""
    if sys.platform == "linux" and os.geteuid() != 0:
        return "not root: the real test fleet needs root (network, mount and UTS namespaces)"
    if shutil.which("dockerd") is None:
        return "no Docker: dockerd is not installed (as root, ./dev installs Debian's docker.io)"
    reasons = missing_requirements()
    return "; ".join(reasons) if reasons else None


@dataclass
class Outcome:
    """What the notebooks did: one entry per notebook run, in order."""

    out: Path
    runs: list[tuple[str, float, str | None]] = field(default_factory=list)  # name, seconds, failure

    @property
    def failure(self) -> str | None:
        return next((f"{name}: {failure}" for name, _, failure in self.runs if failure), None)


def run_notebooks(
    tour: Tour, parameters: Mapping[str, object], out: Path, project: Path, known: Sequence[str]
) -> Outcome:
    """Each notebook of ``tour`` in a fresh kernel, in order, stopping at the first that fails; every
    executed notebook is written with its HTML in ``out`` and searched for secret values
    (``known``, and those of the project's .kamal/secrets before and after it ran)."""
    from nbclient.exceptions import CellExecutionError

    outcome = Outcome(out)
    for name, own in tour:
        values = [*known, *demo.secret_values(project)]
        started = time.monotonic()
        failure: str | None = None
        try:
            # the kernels' own warnings (ipykernel's about TCP on loopback) go to a log, not the terminal
            kernels = out / "kernels.log"
            nb = demo.execute(demo.NOTEBOOKS / f"{name}.ipynb", {**parameters, **own}, kernel_log=kernels)
        except CellExecutionError as error:
            nb = error.notebook  # type: ignore[attr-defined]  # its outputs up to the failing cell
            failure = str(error).strip().splitlines()[-1][:200]
        leaked = demo.leaks(nb, [*values, *demo.secret_values(project)])
        if leaked and failure is None:
            failure = f"a secret value is in the executed notebook ({', '.join(leaked)})"
        _, page = demo.write_outputs(nb, out, name)
        seconds = time.monotonic() - started
        outcome.runs.append((name, seconds, failure))
        print(
            f"{name}: {'ok' if failure is None else 'FAILED (' + failure + ')'} in {seconds:.1f}s -> {page}", flush=True
        )
        if failure is not None:
            break
    return outcome


def on_fleet(fleet: Fleet, info: FleetInfo, out: Path) -> tuple[Outcome, str]:
    """The tutorial's system on the fleet (the busybox demo when its images cannot be built); returns
    the notebooks' outcome and what the summary says was shown."""
    from kamal_nb.testing.images.tutorial import provide_tutorial_images

    started = time.monotonic()
    system, tour = "tutorial", TUTORIAL_TOUR
    try:
        images = provide_tutorial_images(info)
        how = "found in the cache" if images.rootfs_seconds == 0 else "first build, Debian root filesystem included"
        shown = f"the Kamal tutorial's system (app on MySQL and Redis, {HOSTS} hosts) {TUTORIAL_DID}"
        shown += f"; images {minutes(time.monotonic() - started)} ({how})"
    except Exception as error:  # any failure of the build: the demo goes on with the busybox app
        log = out / "image-build.log"
        log.write_text(f"{type(error).__name__}: {error}\n")
        first = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        say(f"image build failed ({first}; the whole message: {log}): running the busybox demo instead")
        system, tour = "demo", BUSYBOX_TOUR
        shown = f"the busybox demo app ({HOSTS} hosts) {BUSYBOX_DID} (the tutorial's images could not be built)"
    project = out / f"{system}-project"
    shutil.rmtree(project, ignore_errors=True)
    parameters = {
        "backend": "real",
        "confirm": True,
        "fleet_base": str(fleet.base),
        "project_dir": str(project),
        "system": system,
    }
    return run_notebooks(tour, parameters, out, project, [info.registry_password]), shown


def on_sandbox(out: Path) -> tuple[Outcome, str]:
    sandbox = out / "sandbox"
    shutil.rmtree(sandbox, ignore_errors=True)
    os.environ["KAMAL_NB_SANDBOX_DIR"] = str(sandbox)  # the kernels inherit it
    parameters = {"backend": "sandbox", "confirm": True, "system": "demo"}
    outcome = run_notebooks(BUSYBOX_TOUR, parameters, out, sandbox / "project", [])
    return outcome, f"the busybox demo app on a sandbox fleet ({HOSTS} local-directory hosts) {BUSYBOX_DID}"


def tour(out: Path, keep: bool = False) -> int:
    started = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    reason = why_no_fleet()
    fleet: Fleet | None = None
    if reason is None:
        fleet = numbered_fleet()
        try:
            info = fleet.up(HOSTS)
        except FleetError as error:
            reason = f"the test fleet did not come up ({str(error).splitlines()[0][:200]})"
            fleet.down()
            fleet = None
    if fleet is None:
        say(f"{reason}: running the busybox demo on a sandbox fleet instead")
        outcome, shown = on_sandbox(out)
    else:
        try:
            print(show(info), flush=True)
            outcome, shown = on_fleet(fleet, info, out)
        finally:
            if keep:
                number = os.environ.get("KAMAL_NB_FLEET_NUMBER", "")
                down = f"KAMAL_NB_FLEET_NUMBER={number} ./dev fleet down" if number else "./dev fleet down"
                say(
                    f"the fleet keeps running (ssh -F {fleet.base}/ssh/config root@{info.host_ips[0]}); stop it: {down}"
                )
            else:
                fleet.down()
    elapsed = minutes(time.monotonic() - started)
    names = ", ".join(name for name, _, _ in outcome.runs)
    if outcome.failure:
        print(f"dev demo: FAILED after {elapsed} in {outcome.failure}; the notebooks and their HTML: {out}/")
        return 1
    print(f"dev demo: ok in {elapsed}: {shown}; notebooks ({names}) and their HTML in {out}/")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kamal_nb.testing.tour", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="artifacts/demo", help="where the executed notebooks and HTML go")
    parser.add_argument("--keep", action="store_true", help="leave the fleet running at the end")
    args = parser.parse_args(argv)
    try:
        return tour(Path(args.out).resolve(), keep=args.keep)
    except FleetError as error:  # a bad KAMAL_NB_FLEET_NUMBER, a fleet that would not stop
        say(str(error).splitlines()[0])
        return 1
    except KeyboardInterrupt:
        say("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
