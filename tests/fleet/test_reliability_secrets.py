"""Secrets on the real fleet: every command run (or planned) from the magics with known secret values,
then everything produced is scanned: result texts and mimebundles, DataFrames, live widget state,
captured output, exception texts and tracebacks, the run log, `kamal-nb config`. None may hold a
secret. Env files on the hosts are mode 0600. (The notebooks are executed and scanned by
tests/fleet/test_notebooks.py.)

Run with its own fleet: `KAMAL_NB_TEST_FLEET=2 .venv/bin/pytest tests/fleet/test_reliability_secrets.py`.
"""

from __future__ import annotations

import json
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output

from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.redaction import secret_forms
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import APP_SECRET, deploy_config, write_project
from tests.fleet.helpers import kamal_shell

pytestmark = pytest.mark.fleet

# A value whose stored forms differ from it: Kamal's env file doubles the backslash and the docker
# command line quotes it (issue 16). Single-quoted in .kamal/secrets, so dotenv reads it as is.
CACHE_SECRET = 'cache\\Tr1cky-"Q"-5b4a$x'

# Every line is one %kamal command, as a notebook cell would run it.
COMMANDS = (
    "config",
    "setup -P --version v1 --yes",
    "details",
    "app details",
    "app containers",
    "app images",
    "app version",
    "app exec --reuse env",
    "app logs",
    "proxy details",
    "proxy logs",
    "accessory details all",
    "accessory logs cache",
    "accessory exec cache --reuse env",
    "audit",
    "server exec 'cat .kamal/apps/demo/env/*/*.env'",
    "lock acquire -m 'maintenance' --yes",
    "lock status",
    "lock release --yes",
    "state",
    "build pull --version v2 --yes",
    "env push --yes",
    "deploy -P --version v2 --yes",
    "redeploy -P --version v1 --yes",
    "rollback v2 --yes",
    "app boot --version v2 --yes",
    "app stale_containers",
    "prune all --yes",
    "proxy reboot --yes",
    "app maintenance --yes",
    "app live --yes",
    "registry logout --skip-local --yes",
    "registry login --skip-local --yes",
    "accessory restart cache --yes",
    "accessory reboot cache --yes",
    "app stop --yes",
    "app start --version v2 --yes",
)


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fleet_control.reset_hosts()
    config = deploy_config(
        fleet,
        accessories={
            "cache": {
                "image": fleet.images["base"],
                "host": fleet.host_ips[2],
                "cmd": "sleep 3600",
                "env": {"secret": ["CACHE_PASSWORD"]},
            }
        },
    )
    return write_project(tmp_path_factory.mktemp("secrets"), fleet, config, {"CACHE_PASSWORD": f"'{CACHE_SECRET}'"})


@pytest.fixture
def ip(project: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    monkeypatch.chdir(project)
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    with kamal_shell("on") as shell:
        yield shell


def rendered(value: Any) -> list[str]:
    """Every text a notebook would save of a value: str, repr, mimebundle, DataFrames."""
    texts = [str(value), repr(value)]
    bundle = getattr(value, "_repr_mimebundle_", None)
    if callable(bundle):
        texts += [str(v) for v in bundle().values()]
    for attribute in ("df", "timeline"):
        try:
            frame = getattr(value, attribute, None)
        except Exception as error:  # a table a result does not have
            texts.append(str(error))
            continue
        if frame is not None and hasattr(frame, "to_html"):
            texts += [frame.to_string(), frame.to_html(), frame.to_json(date_format="iso")]
    return texts


def widget_state() -> str:
    import ipywidgets.widgets.widget as widget_module

    return json.dumps([w.get_state() for w in list(widget_module._instances.values())], default=str)


def test_no_secret_in_anything_produced(ip: Any, project: Path, fleet: FleetInfo, tmp_path: Path) -> None:
    secrets = (APP_SECRET, CACHE_SECRET, fleet.registry_password)
    produced: list[str] = []
    outcomes: dict[str, str] = {}
    for line in COMMANDS:
        with capture_output() as captured:
            try:
                value = ip.run_line_magic("kamal", line)
                outcomes[line] = "ok" if getattr(value, "ok", True) else "failed"
                produced += rendered(value)
            except Exception as error:
                outcomes[line] = f"raised {type(error).__name__}: {str(error)[-300:]}"
                produced += [str(error), repr(error)]
                traceback = getattr(error, "_render_traceback_", None)
                if callable(traceback):
                    produced += traceback()
        produced += [captured.stdout, captured.stderr, *(str(o.data) for o in captured.outputs)]
    # the commands ran: the secrets were in play (in the containers, and in the files read back)
    failures = {k: v for k, v in outcomes.items() if v != "ok"}
    assert not failures, "\n".join(f"{k}: {v}" for k, v in failures.items())
    # a failure's exception text and traceback
    with capture_output() as captured, pytest.raises(Exception) as raised:
        ip.run_line_magic("kamal", f"server exec 'echo {APP_SECRET}; exit 3'")
    produced += [str(raised.value), *getattr(raised.value, "_render_traceback_", list)(), captured.stdout]
    # every other operation's plan, as `%kamal plan ...` shows it
    session = Session(root=project)
    args = {"name": "cache", "version": "v1", "message": "m", "cmd": ["true"], "skip_push": True}
    for path, operation in catalog.catalog().items():
        if operation.mutating:
            try:
                produced += rendered(catalog.perform(session.context(GlobalOptions()), path, args, yes=False))
            except Exception as error:
                produced.append(str(error))
    session.close()
    produced.append(widget_state())
    produced.append((tmp_path / "runs.jsonl").read_text())
    cli = Path(sys.executable).parent / "kamal-nb"
    config_output = subprocess.run([str(cli), "config"], cwd=project, capture_output=True, text=True, timeout=60)
    assert config_output.returncode == 0, config_output.stderr
    produced += [config_output.stdout, config_output.stderr]
    everything = "\n".join(produced)
    assert "[REDACTED]" in everything, "the secrets were shown masked somewhere"
    for secret in secrets:
        for form in secret_forms(secret):  # as is, escaped, quoted, JSON, base64, URL-encoded
            assert form not in everything, f"a secret leaked: {secret[:4]}... as {form[:6]}..."


def test_env_files_on_the_hosts_are_mode_0600(fleet: FleetInfo) -> None:
    env_files = [
        path
        for host in fleet.hosts
        for path in (Path(fleet.base) / "nodes" / host.name / "root" / ".kamal" / "apps").rglob("*.env")
    ]
    assert {p.name for p in env_files} == {"web.env", "jobs.env", "cache.env"}
    for path in env_files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path


def test_the_stored_form_of_a_secret_is_masked(
    project: Path, fleet: FleetInfo, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """The accessory's env file on h3 holds the secret as Kamal stores it (`\\` doubled): printing
    its lines with `server exec` shows them with the value masked (issue 16: the stored form of
    `Tr1cky\\Secret-Val` used to come out in clear)."""
    monkeypatch.chdir(project)
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    with kamal_shell("off") as shell, capture_output() as captured:
        shell.run_line_magic("kamal", "env push --yes")
        # `=` replaced: the file and its lines are known secrets (they were uploaded), the value alone
        # in its stored form is what this is about
        command = f"server exec -h {fleet.host_ips[2]} 'sed s/=/:/ .kamal/apps/demo/env/accessories/cache.env'"
        result = shell.run_line_magic("kamal", command)
    output = result.output(fleet.host_ips[2])
    shown = "\n".join([output, captured.stdout, captured.stderr, *rendered(result)])
    assert "CACHE_PASSWORD:[REDACTED]" in output
    for form in secret_forms(CACHE_SECRET):
        assert form not in shown, f"the secret leaked as {form[:6]}..."
