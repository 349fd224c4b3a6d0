"""The README's `./dev demo`, run exactly as written: as root with Docker it deploys and checks the Kamal
tutorial's system through four notebooks on a fleet of its own and ends with one summary line; elsewhere
it runs the busybox demo on a sandbox fleet, saying why in one line."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from kamal_nb.testing import demo
from kamal_nb.testing.fleet import numbered_fleet
from kamal_nb.testing.tour import BUSYBOX_TOUR, TUTORIAL_TOUR, why_no_fleet

pytestmark = [pytest.mark.fleet, pytest.mark.slow]

REPO = Path(__file__).resolve().parent.parent.parent
# the demo's fleet beside this test run's own (10.21N.0.0/24): 10.22N.0.0/24, N the test run's number
_ID = os.environ.get("KAMAL_NB_TEST_FLEET", "")
NUMBER = _ID if _ID.isdigit() and len(_ID) == 1 else "9"


def readme_demo_line() -> str:
    """The command of the README's `./dev demo` line (its comment left out)."""
    lines = [line.split("#", 1)[0].strip() for line in (REPO / "README.md").read_text().splitlines()]
    found = [line for line in lines if line.startswith("./dev demo")]
    assert len(found) == 1, f"the README has one ./dev demo line, not {len(found)}"
    return found[0]


def text_outputs(notebook: Path) -> str:
    nb = json.loads(notebook.read_text())
    texts = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            texts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(texts)


def test_the_readme_demo_command_runs_as_written(tmp_path: Path) -> None:
    line = readme_demo_line()
    assert line == "./dev demo"
    out = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if k not in ("KEEP_FLEET", "KAMAL_NB_FLEET_BASE", "DEMO_OUT")}
    env |= {"DEMO_OUT": str(out), "KAMAL_NB_FLEET_NUMBER": NUMBER}
    # the tutorial's root filesystem is shared with this run's tutorial tests (one build, under a
    # lock): tests/conftest.py sets KAMAL_NB_IMAGE_CACHE for the whole run, and env carries it
    done = subprocess.run(
        ["bash", "-c", line], cwd=REPO, env=env, capture_output=True, text=True, timeout=1500, check=False
    )
    report = f"stdout:\n{done.stdout[-3000:]}\nstderr:\n{done.stderr[-3000:]}"
    assert done.returncode == 0, report
    assert "Kernel is running over TCP" not in done.stderr  # the kernels' own warnings go to kernels.log
    summary = done.stdout.strip().splitlines()[-1]
    assert summary.startswith("dev demo: ok in "), report
    reason = why_no_fleet()
    if reason is None:
        assert "the Kamal tutorial's system (app on MySQL and Redis, 3 hosts)" in summary, report
        assert "the MySQL password rotated, the database dumped and restored" in summary, report
        tour = TUTORIAL_TOUR
        project = out / "tutorial-project"
        rotation = text_outputs(out / "secrets-rotation.ipynb")
        assert "MySQL accepts the new MYSQL_ROOT_PASSWORD and refuses the old one" in rotation
        assert "as before the dump" in text_outputs(out / "backup-restore.ipynb")
        shown = text_outputs(out / "quickstart.ipynb")  # the system as the runbooks left it
        assert "Fleet state of tutorial: 3 hosts, 3 reachable" in shown and "nothing deployed yet" not in shown
        assert "deployed v2: every host runs it and every web host serves it" in text_outputs(
            out / "deploy-runbook.ipynb"
        )
        # the fleet went down with the demo: none of its processes is left
        fleet = numbered_fleet(REPO / ".fleet" / f"demo{NUMBER}", NUMBER)
        assert fleet.leftover_pids() == []
    else:
        assert f"dev demo: {reason}: running the busybox demo on a sandbox fleet instead" in done.stderr, report
        assert "the busybox demo app on a sandbox fleet" in summary, report
        tour = BUSYBOX_TOUR
        project = out / "sandbox" / "project"
    for name, _ in tour:
        assert (out / f"{name}.ipynb").is_file() and (out / f"{name}.html").is_file(), name
        nb = json.loads((out / f"{name}.ipynb").read_text())
        assert not any(output.get("output_type") == "error" for c in nb["cells"] for output in c.get("outputs", []))
    values = demo.secret_values(project)
    assert values, "the project's secrets were read"
    for name, _ in tour:
        assert not any(value in (out / f"{name}.ipynb").read_text() for value in values), name
