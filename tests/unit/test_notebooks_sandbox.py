"""Every notebook in notebooks/ executed headless (nbclient, a real kernel) against a sandbox fleet: no
root, no Docker, no sshd. The operations themselves are tested on the real fleet (tests/fleet); this
checks that the notebooks run where Binder runs them, say what they did, and leak no secret."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.sandbox.fleet import DEMO_SECRET, REGISTRY_PASSWORD, create_sandbox
from kamal_nb.testing import demo

NOTEBOOKS = sorted(demo.NOTEBOOKS.glob("*.ipynb"))


def text_of(nb: Any) -> str:
    """Every text output of the executed notebook, in order (stream text and text/plain)."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text") or output.get("data", {}).get("text/plain", ""))
    return "\n".join(parts)


def missing_markers(nb: Any) -> list[str]:
    """Outputs (text and HTML) that show pandas' raw missing values: `<NA>`, `NaN`, `NaT`, a `None` cell."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            for form in (output.get("text") or "", data.get("text/plain", ""), data.get("text/html", "")):
                if re.search(r"<NA>|&lt;NA&gt;|\bNaN\b|\bNaT\b|<td[^>]*>None</td>|  None  ", form):
                    found.append(f"cell {index}: {form[:300]}")
    return found


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox")
    create_sandbox(root, hosts=3)
    return root


@pytest.fixture
def run(sandbox: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("KAMAL_NB_BACKEND", "sandbox")  # as binder/start sets it: backend="auto" picks it
    monkeypatch.setenv("KAMAL_NB_SANDBOX_DIR", str(sandbox))

    def execute(name: str, **parameters: object) -> Any:
        nb = demo.execute(demo.NOTEBOOKS / f"{name}.ipynb", {"confirm": True, **parameters}, timeout=300)
        secrets = [DEMO_SECRET, REGISTRY_PASSWORD, *demo.secret_values(sandbox / "project")]
        assert demo.leaks(nb, secrets) == [], f"{name}: a secret value is in the executed notebook"
        assert missing_markers(nb) == [], f"{name}: a raw missing value is shown"
        return nb

    return execute


def test_the_notebooks_in_git_have_no_outputs_and_a_parameters_cell() -> None:
    assert {p.stem for p in NOTEBOOKS} == {
        "quickstart",
        "deploy-runbook",
        "rollback-playbook",
        "fleet-inspection",
        "secrets-rotation",
        "backup-restore",
        "host-lost",
        "stuck-deploy-lock",
        "maintenance-window",
        "logs-across-the-fleet",
    }
    for path in NOTEBOOKS:
        nb = json.loads(path.read_text())
        code = [c for c in nb["cells"] if c["cell_type"] == "code"]
        assert all(not c["outputs"] and c["execution_count"] is None for c in code), f"{path.name} has outputs"
        assert "widgets" not in nb["metadata"], f"{path.name} keeps widget state"
        tagged = [c for c in code if "parameters" in c["metadata"].get("tags", [])]
        assert len(tagged) == 1 and code[0] is tagged[0], f"{path.name}: the first code cell is the parameters"
        source = "".join(tagged[0]["source"])
        assert "backend = " in source and "project_dir = " in source, path.name
        # prose for the reader before every step
        assert nb["cells"][0]["cell_type"] == "markdown"
        assert sum(c["cell_type"] == "markdown" for c in nb["cells"]) >= len(code) // 2, path.name


@pytest.mark.slow
def test_quickstart_shows_the_sandbox_fleet(run: Any, sandbox: Path) -> None:
    nb = run("quickstart")
    text = text_of(nb)
    assert "sandbox fleet: hosts 10.200.0.11, 10.200.0.12, 10.200.0.13" in text
    assert ":primary_host: 10.200.0.11" in text, "the config, as Kamal shows it"
    assert "kamal details — done" in text and "Fleet state of demo: 3 hosts, 3 reachable" in text
    # the live per-host view is a Tab of Output widgets, kept in the notebook's widget state
    states = [m["state"] for m in nb.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"].values()]
    tabs = [s for s in states if s.get("_model_name") == "TabModel"]
    assert tabs and any(any("10.200.0.12" in title for title in s["titles"]) for s in tabs)


@pytest.mark.slow
def test_deploy_then_rollback_then_rotate_then_inspect(run: Any, sandbox: Path) -> None:
    deployed = text_of(run("deploy-runbook", version="v2"))
    assert "deployed v2: every host runs it and every web host serves it" in deployed
    assert "10.200.0.12: kamal-proxy serves v2" in deployed

    rolled = text_of(run("rollback-playbook"))
    assert "bad version: v2; last good version: v1" in rolled
    assert "rolled back from v2 to v1" in rolled and "10.200.0.11: kamal-proxy serves v1" in rolled

    secrets_file = sandbox / "project" / ".kamal" / "secrets"
    before = secrets_file.read_text()
    rotated = text_of(run("secrets-rotation"))
    assert "DEMO_SECRET rotated: env files changed on 3 hosts, containers restarted" in rotated
    after = secrets_file.read_text()
    assert after != before and DEMO_SECRET not in after and "DEMO_SECRET=" in after
    env_file = sandbox / "hosts" / "10.200.0.11" / ".kamal" / "apps" / "demo" / "env" / "roles" / "web.env"
    assert demo.secret_values(sandbox / "project")[-1] in env_file.read_text(), "the new value reached the host"

    inspected = text_of(run("fleet-inspection"))
    assert "3 of 3 hosts answered" in inspected and "no version skew" in inspected
    assert "healthy" in inspected


@pytest.mark.slow
def test_without_confirm_nothing_changes(run: Any, sandbox: Path) -> None:
    engine = sandbox / "hosts" / "10.200.0.11" / ".sandbox" / "docker.json"
    secrets = (sandbox / "project" / ".kamal" / "secrets").read_text()
    before = engine.read_text() if engine.exists() else ""
    text = text_of(run("deploy-runbook", version="v1", confirm=False))
    assert "not confirmed: nothing was deployed" in text and "nothing was run: confirm with --yes" in text
    text = text_of(run("secrets-rotation", confirm=False))
    assert "not confirmed: DEMO_SECRET" in text
    assert (sandbox / "project" / ".kamal" / "secrets").read_text() == secrets
    after = json.loads(engine.read_text()) if before else {}
    assert {c["name"] for c in after.get("containers", {}).values()} == {
        c["name"] for c in (json.loads(before) if before else {}).get("containers", {}).values()
    }


def test_prepare_picks_the_fleet_and_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("KAMAL_NB_FLEET_BASE", raising=False)
    monkeypatch.setenv("KAMAL_NB_BACKEND", "ssh")
    monkeypatch.setenv("KAMAL_NB_SANDBOX_DIR", str(tmp_path / "sb"))
    with pytest.raises(demo.DemoError, match=r"no running test fleet .*\./dev fleet up 3"):
        demo.prepare("real")
    with pytest.raises(demo.DemoError, match="choose one of auto, real, sandbox"):
        demo.prepare("staging")
    chosen = demo.prepare("auto")  # no fleet recorded: the sandbox, created on first use
    assert chosen.backend == "sandbox" and (chosen.project / "config" / "deploy.yml").is_file()
    assert chosen.hosts == ("10.200.0.11", "10.200.0.12", "10.200.0.13")
    assert chosen.web_hosts == chosen.hosts[:2]
    assert os.environ["KAMAL_NB_BACKEND"] == "sandbox" and os.environ["KAMAL_NB_SANDBOX_DIR"] == str(chosen.sandbox_dir)
    assert demo.prepare("sandbox").project == chosen.project, "an existing sandbox is reused, not replaced"
    with pytest.raises(demo.DemoError, match="No such container: kamal-proxy"):  # nothing deployed yet
        chosen.via_proxy("10.200.0.11")


def test_parameters_are_injected_after_the_parameters_cell_and_leaks_name_no_value() -> None:
    nb = demo._nbformat().read(str(demo.NOTEBOOKS / "deploy-runbook.ipynb"), as_version=4)
    demo.inject_parameters(nb, {"version": "v9", "confirm": True})
    index = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    injected = nb.cells[index + 1]
    assert injected.metadata["tags"] == [demo.INJECTED]
    assert "version = 'v9'\nconfirm = True\n" in injected.source
    assert demo.leaks(nb, ["v9"]) == [f"cell {index + 1}"]
    nb.metadata["widgets"] = {"state": {"x": {"value": "token-123456"}}}
    assert demo.leaks(nb, ["token-123456"]) == ["metadata (widget state)"]
    assert demo.leaks(nb, ["not-there-at-all"]) == []
