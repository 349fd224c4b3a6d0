"""The four incident playbooks run headless through papermill on a sandbox fleet (no root, no Docker,
no sshd), as Binder runs them; the same playbooks run on the real fleet in tests/fleet/test_playbooks.py."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.sandbox.backend import sandbox_backend
from kamal_nb.sandbox.fleet import DEMO_SECRET, REGISTRY_PASSWORD, create_sandbox, set_host_down
from kamal_nb.testing import demo
from tests.playbooks import run_with_papermill, text_of
from tests.unit.test_notebooks_sandbox import missing_markers


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox")
    create_sandbox(root, hosts=3)
    return root


@pytest.fixture
def run(sandbox: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KAMAL_NB_BACKEND", "sandbox")
    monkeypatch.setenv("KAMAL_NB_SANDBOX_DIR", str(sandbox))

    def execute(name: str, **parameters: Any) -> str:
        nb = run_with_papermill(name, tmp_path, timeout=300, **{"confirm": True, **parameters})
        secrets = [DEMO_SECRET, REGISTRY_PASSWORD, *demo.secret_values(sandbox / "project")]
        assert demo.leaks(nb, secrets) == [], f"{name}: a secret value is in the executed notebook"
        assert missing_markers(nb) == [], f"{name}: a raw missing value (<NA>, NaN...) is shown"
        return text_of(nb)

    return execute


def test_the_incident_playbooks_on_the_sandbox(run: Any, sandbox: Path) -> None:
    assert "deployed v1" in run("deploy-runbook", version="v1")

    logs = run("logs-across-the-fleet", follow_seconds=2)
    assert "kamal app logs -f: followed 3 stream(s)" in logs and "line(s) with 'ERROR' in the logs" in logs

    maintenance = run("maintenance-window", task="echo step one")
    assert "10.200.0.11: 503 (10.200.0.11: kamal-proxy has no running route (502))" in maintenance
    assert "10.200.0.11 | step one" in maintenance and "task done" in maintenance
    assert "live: every web host serves the app again" in maintenance

    session = Session(root=sandbox / "project", backend=sandbox_backend(sandbox))
    catalog.perform(session.context(GlobalOptions()), ("lock", "acquire"), {"message": "left behind"}, yes=True)
    session.close()
    lock = run("stuck-deploy-lock", older_than="0s")
    assert "left behind" in lock and "Released the deploy lock" in lock and "the deploy lock is free" in lock

    set_host_down(sandbox, "10.200.0.12")
    comeback = threading.Timer(8, set_host_down, args=(sandbox, "10.200.0.12", False))
    comeback.start()
    try:
        lost = run("host-lost", version="v2", wait_for_return=60)
    finally:
        comeback.join()
    assert "lost: 10.200.0.12; answering: 10.200.0.11, 10.200.0.13" in lost
    assert "back: 10.200.0.12 answers again" in lost
    assert "recovered: every host answers and runs v2" in lost


def test_without_confirm_the_playbooks_change_nothing(run: Any, sandbox: Path) -> None:
    maintenance = run("maintenance-window", confirm=False)
    assert "not confirmed: the app is not in maintenance" in maintenance and "nothing was run" in maintenance
    lock = run("stuck-deploy-lock", confirm=False)
    assert "no deploy lock is held" in lock or "not confirmed" in lock
