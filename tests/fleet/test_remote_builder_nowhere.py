"""Nowhere to build: no builder.remote and no local engine (DOCKER_HOST points at no socket).
`deploy` and `build push` say in one line what to do, before anything runs on a host, in the
command line (non-zero exit) and in %kamal (a short error, no traceback); the suggested
`deploy -P --version` of a pushed version then works.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=6 .venv/bin/pytest tests/fleet/test_remote_builder_nowhere.py`.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from IPython.utils.capture import capture_output

from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import kamal_shell, version_of
from tests.fleet.project import deploy_config, write_project

pytestmark = pytest.mark.fleet


@pytest.fixture(autouse=True)
def _own_run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Operations that change hosts log to the test's directory, never to the user's state."""
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))


NOWHERE = "unix:///nonexistent/kamal-nb-test/docker.sock"
WHAT_TO_DO = (
    "Set builder.remote (ssh://USER@HOST) in config/deploy.yml, start Docker here (or point DOCKER_HOST at an "
    "engine), or deploy a version already pushed with -P/--skip-push --version VERSION"
)


def _untouched(fleet_control: Fleet, fleet: FleetInfo) -> None:
    """No host has a ~/.kamal (nothing of Kamal's ran there) nor an app container."""
    for index in range(1, len(fleet.hosts) + 1):
        assert not (fleet_control.node_dir(f"h{index}") / "root/.kamal").exists(), f"h{index}"


def _cli(project: Path, *argv: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": NOWHERE, "KAMAL_NB_RUN_LOG": str(project / "runs.jsonl")}
    return subprocess.run(
        [str(Path(sys.executable).parent / "kamal-nb"), *argv],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_nowhere_to_build_is_one_line_in_the_cli_and_the_notebook_and_nothing_runs(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_control.reset_hosts()
    project = write_project(tmp_path / "app", fleet, deploy_config(fleet))
    for argv in (("deploy", "--version", "n1", "--yes"), ("build", "push", "--version", "n1", "--yes")):
        done = _cli(project, *argv)
        assert done.returncode != 0
        assert done.stderr.count("\n") == 1, done.stderr
        assert "Nothing to build on: the local Docker engine at " + NOWHERE in done.stderr
        assert "No such file or directory" in done.stderr and WHAT_TO_DO in done.stderr
        assert "Traceback" not in done.stdout + done.stderr
    _untouched(fleet_control, fleet)

    monkeypatch.chdir(project)
    monkeypatch.setenv("DOCKER_HOST", NOWHERE)
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    with kamal_shell("off") as shell, capture_output() as captured:
        outcome = shell.run_cell("%kamal deploy --version n1 --yes")
    error = outcome.error_in_exec
    assert error is not None and type(error).__name__ == "KamalError"
    assert "Nothing to build on" in str(error) and WHAT_TO_DO in str(error)
    assert "Traceback" not in captured.stdout + captured.stderr
    _untouched(fleet_control, fleet)

    # what the line suggests: a version already in the registry, deployed without a build
    done = _cli(project, "deploy", "-P", "--version", "v1", "--yes")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert version_of(fleet.hosts[0].ip) == "v1"
