"""%kamal and %%kamal in an in-process IPython shell, against the real fleet and beside the real Kamal."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from IPython.utils.capture import capture_output

from kamal_nb.engine.result import OperationResult
from kamal_nb.notebook.errors import KamalOperationFailed
from kamal_nb.notebook.magics import PendingOperation
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import APP_SECRET, real_kamal
from tests.fleet.helpers import kamal_shell, set_up_with_kamal

pytestmark = pytest.mark.fleet
Shell = Any


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("app"))


@pytest.fixture
def ip(project: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shell]:
    monkeypatch.chdir(project)
    with kamal_shell("off") as shell:
        yield shell


def test_line_magic_returns_the_result_with_live_text(ip: Shell, fleet: FleetInfo) -> None:
    h1, h2, h3 = fleet.host_ips
    with capture_output() as captured:
        result = ip.run_line_magic("kamal", "details")
    assert isinstance(result, OperationResult) and result.ok
    assert "demo-web-v1" in result.output(h1) and "demo-jobs-v1" in result.output(h3)
    assert f"[{h2}]" in captured.stdout, "live per-host lines in a terminal"
    version = ip.run_line_magic("kamal", "app version -r web")
    assert list(version.hosts) == [h1, h2] and version.output(h1) == "v1\n"
    assert APP_SECRET not in captured.stdout + str(result) + str(result.df)


def test_mutations_wait_for_yes_and_the_lock_is_shared_with_kamal(ip: Shell, project: Path) -> None:
    ip.user_ns["why"] = "checking the fleet"
    pending = ip.run_line_magic("kamal", "lock acquire -m {why}")
    assert isinstance(pending, PendingOperation)
    assert "There is no deploy lock" in real_kamal(project, "lock", "status").stdout, "nothing ran yet"
    with capture_output():
        pending.run()
    assert "Message: checking the fleet" in real_kamal(project, "lock", "status").stdout
    with capture_output():
        ip.run_line_magic("kamal", "lock release --yes")
    assert "There is no deploy lock" in real_kamal(project, "lock", "status").stdout


def test_cell_magic_runs_a_runbook_block_and_stops_at_the_first_failure(ip: Shell, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    with capture_output():
        ip.run_cell_magic("kamal", "--out last", "lock status\napp version -p")
    assert ip.user_ns["last"].output(h1) == "v1\n"
    with capture_output(), pytest.raises(KamalOperationFailed):
        ip.run_cell_magic("kamal", "--out failed", "server exec -p 'exit 3'\napp version")
    assert "failed" not in ip.user_ns or ip.user_ns["failed"] is None or not ip.user_ns["failed"].ok


def test_redeploy_and_rollback_from_the_notebook(ip: Shell, fleet: FleetInfo, project: Path) -> None:
    import urllib.request

    h1 = fleet.host_ips[0]
    with capture_output():
        redeploy = ip.run_line_magic("kamal", "redeploy -P --version v2 --yes")
    assert redeploy.ok
    with urllib.request.urlopen(f"http://{h1}/version", timeout=5) as response:
        assert response.read() == b"v2\n"
    kamal_view = real_kamal(project, "app", "version")
    assert kamal_view.stdout.count("v2") >= 3, kamal_view.stdout
    with capture_output():
        ip.run_line_magic("kamal", "rollback v1 --yes")
    with urllib.request.urlopen(f"http://{h1}/version", timeout=5) as response:
        assert response.read() == b"v1\n"
