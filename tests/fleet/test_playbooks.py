"""The four incident playbooks run headless through papermill against the real test fleet, each
checked from outside: through kamal-proxy over HTTP, with the real Kamal, and on the hosts."""

from __future__ import annotations

import csv
import threading
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.testing import demo
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import APP_SECRET
from tests.fleet.helpers import kamal_ok, set_up_with_kamal, version_of
from tests.playbooks import run_with_papermill, text_of

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app set up by the real Kamal at v1: web on h1, h2 behind the proxy, jobs on h3."""
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("playbooks"))


@pytest.fixture(scope="module")
def run(project: Path, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Any:
    out = tmp_path_factory.mktemp("executed")

    def execute(name: str, **parameters: Any) -> str:
        given = {"backend": "real", "fleet_base": str(fleet.base), "project_dir": str(project), "confirm": True}
        nb = run_with_papermill(name, out, **{**given, **parameters})
        secrets = [APP_SECRET, fleet.registry_password, *demo.secret_values(project)]
        assert demo.leaks(nb, secrets) == [], f"{name}: a secret value is in the executed notebook"
        return text_of(nb)

    return execute


def test_logs_across_the_fleet_finds_the_error_on_every_web_host(run: Any, project: Path, fleet: FleetInfo) -> None:
    text = run("logs-across-the-fleet", make_noise=True, follow_seconds=3)
    h1, h2, _ = fleet.host_ips
    assert "followed 3 stream(s)" in text and "time limit (3s)" in text
    assert "match 'ERROR', on 2 host(s)" in text, text[-3000:]
    saved = sorted((project / "incident-record").glob("logs-followed-*.csv"))
    with saved[-1].open() as handle:
        rows = list(csv.DictReader(handle))
    assert {row["host"] for row in rows} == {h1, h2}
    assert all("ERROR payment timeout order=42" in row["line"] for row in rows)


def test_maintenance_window_serves_the_page_runs_the_task_and_goes_live(
    run: Any, fleet: FleetInfo, project: Path
) -> None:
    try:
        text = run("maintenance-window", message="Back at noon", task="sh -c 'echo step one; sleep 1; echo step two'")
    finally:
        kamal_ok(project, "app", "live")  # whatever happened, the next playbooks find the app live
    h1, h2, _ = fleet.host_ips
    assert f"{h1}: 503 Back at noon" in text and f"{h2}: 503 Back at noon" in text
    assert "maintenance: every web host answers 503" in text
    assert "step one" in text and "step two" in text and "task done" in text
    assert "live: every web host serves the app again" in text
    assert version_of(h1) == version_of(h2) == "v1"


def test_stuck_deploy_lock_is_shown_then_released(run: Any, project: Path) -> None:
    kamal_ok(project, "lock", "acquire", "-m", "deploy of v7 from a laptop")
    text = run("stuck-deploy-lock", older_than="0s")
    assert "deploy of v7 from a laptop" in text and "held by Test Operator since" in text
    assert "no deploy is running anywhere" in text
    assert "Released the deploy lock" in text and "the deploy lock is free" in text
    assert "There is no deploy lock" in kamal_ok(project, "lock", "status")


def test_a_lost_host_is_worked_around_brought_back_and_converged(
    run: Any, fleet_control: Fleet, fleet: FleetInfo, project: Path
) -> None:
    h1, h2, h3 = fleet.host_ips
    fleet_control.stop_sshd("h2")
    # the host comes back while the playbook waits for it (a reboot from the provider's console)
    comeback = threading.Timer(25, fleet_control.start_sshd, args=("h2",))
    comeback.start()
    try:
        text = run("host-lost", version="v2", wait_for_return=120)
    finally:
        comeback.join()
    assert f"lost: {h2}; answering: {h1}, {h3}" in text
    assert f"back: {h2} answers again" in text
    assert "recovered: every host answers and runs v2" in text
    assert version_of(h1) == version_of(h2) == "v2"
    assert kamal_ok(project, "app", "version").count("v2") >= 3, "the real Kamal sees v2 everywhere"
