"""Every notebook in notebooks/ executed headless (nbclient, a real kernel) against the real test fleet,
in the order an on-call week would: look, deploy, roll back, rotate a secret, inspect a mess. Each run's
outputs are checked, the fleet is checked from outside (HTTP through kamal-proxy, the real Kamal, the
hosts' Docker engines), and no secret value may appear anywhere in an executed notebook."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path
from typing import Any

import docker
import pytest

from kamal_nb.testing import demo
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import APP_SECRET, real_kamal, write_project

pytestmark = pytest.mark.fleet


def text_of(nb: Any) -> str:
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def served(host: str) -> str:
    with urllib.request.urlopen(f"http://{host}/version", timeout=5) as response:
        return str(response.read().decode().strip())


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fleet_control.reset_hosts()
    return write_project(tmp_path_factory.mktemp("app"), fleet)


@pytest.fixture(scope="module")
def run(project: Path, fleet: FleetInfo) -> Any:
    def execute(name: str, **parameters: object) -> Any:
        given = {"backend": "real", "fleet_base": fleet.base, "project_dir": str(project), "confirm": True}
        nb = demo.execute(demo.NOTEBOOKS / f"{name}.ipynb", {**given, **parameters}, timeout=300)
        secrets = [APP_SECRET, fleet.registry_password, *demo.secret_values(project)]
        assert demo.leaks(nb, secrets) == [], f"{name}: a secret value is in the executed notebook"
        return nb

    return execute


def test_1_quickstart_shows_the_fleet(run: Any, fleet: FleetInfo) -> None:
    nb = run("quickstart")
    text = text_of(nb)
    h1, h2, h3 = fleet.host_ips
    assert f"real fleet: hosts {h1}, {h2}, {h3}" in text
    assert "kamal details — done" in text and "Fleet state of demo: 3 hosts, 3 reachable" in text
    servers = nb.cells[-2].outputs[0]["data"]["text/html"]  # the servers table
    assert all(host in servers for host in fleet.host_ips)
    widgets = nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    tabs = [m["state"] for m in widgets.values() if m["state"].get("_model_name") == "TabModel"]
    assert tabs and any(h3 in title for title in tabs[0]["titles"]), "a tab per host in the live view"


def test_2_deploy_runbook_deploys_and_verifies(run: Any, fleet: FleetInfo, project: Path) -> None:
    text = text_of(run("deploy-runbook", version="v1"))
    h1, h2, _ = fleet.host_ips
    assert "no deploy lock is held" in text
    assert "deployed v1: every host runs it and every web host serves it" in text
    assert f"{h2}: kamal-proxy serves v1" in text
    assert served(h1) == served(h2) == "v1"
    assert real_kamal(project, "app", "version").stdout.count("v1") >= 3, "the real Kamal sees the deploy"


def test_3_rollback_playbook_finds_the_last_good_version(run: Any, fleet: FleetInfo, project: Path) -> None:
    text = text_of(run("rollback-playbook"))
    h1, h2, _ = fleet.host_ips
    assert "staged: v2 runs, v1 is the release before it" in text
    assert "bad version: v2; last good version: v1" in text
    assert "rolled back from v2 to v1" in text and f"{h1}: kamal-proxy serves v1" in text
    assert served(h1) == served(h2) == "v1"
    audit = real_kamal(project, "audit").stdout
    assert "Rolled back" in audit or audit.count("Booted app version v1") >= 2, audit[-2000:]


def test_4_secrets_rotation_reaches_the_containers(run: Any, fleet: FleetInfo, project: Path) -> None:
    text = text_of(run("secrets-rotation"))
    assert "DEMO_SECRET rotated: env files changed on 3 hosts, containers restarted" in text
    new_value = next(line.split("=", 1)[1] for line in (project / ".kamal" / "secrets").read_text().splitlines()
                     if line.startswith("DEMO_SECRET="))  # fmt: skip
    assert new_value != APP_SECRET
    for host in fleet.hosts:
        engine = docker.DockerClient(base_url=host.docker_socket, timeout=30)
        running = [c for c in engine.containers.list(filters={"label": "service=demo"})]
        assert running, host.ip
        for container in running:
            assert f"DEMO_SECRET={new_value}" in container.attrs["Config"]["Env"], (host.ip, container.name)
        engine.close()


def test_5_fleet_inspection_reports_skew_and_the_lock(run: Any, fleet: FleetInfo, project: Path) -> None:
    h1 = fleet.host_ips[0]
    skewed = real_kamal(project, "deploy", "-P", "--version", "v2", "-h", h1)
    assert skewed.returncode == 0, skewed.stderr[-2000:]
    locked = real_kamal(project, "lock", "acquire", "-m", "inspecting the skew")
    assert locked.returncode == 0, locked.stderr[-2000:]
    try:
        nb = run("fleet-inspection")
    finally:
        real_kamal(project, "lock", "release")
    text = text_of(nb)
    assert "3 of 3 hosts answered" in text
    assert "SKEW in web" in text
    assert "the deploy lock is held" in text and "inspecting the skew" in text
    findings = json.dumps(nb.cells[-1].outputs)
    assert "skew" in findings.lower()
