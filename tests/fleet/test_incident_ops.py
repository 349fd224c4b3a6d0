"""Incident tools on the real fleet: maintenance and live checked through kamal-proxy (beside the real
Kamal), a stale deploy lock released only past its age with its holder shown, and `watch` seeing
the real Kamal 2.11 deploy a new version from a terminal."""

from __future__ import annotations

import datetime
import os
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kamal_nb.engine.errors import Refused
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import kamal_binary
from tests.fleet.helpers import kamal_ok, kamal_shell, perform, run, set_up_with_kamal, version_of

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app set up by the real Kamal at v1: web on h1, h2 behind the proxy, jobs on h3."""
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("incident"))


def through_proxy(ip: str, path: str = "/") -> tuple[int, str]:
    """Status and body of GET `path` on the host's kamal-proxy."""
    try:
        with urllib.request.urlopen(f"http://{ip}{path}", timeout=5) as response:
            return int(response.status), response.read().decode()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read().decode()


def test_maintenance_page_and_live_through_the_proxy_as_kamal(
    session: Session, project: Path, fleet: FleetInfo
) -> None:
    h1, h2 = fleet.host_ips[:2]
    assert through_proxy(h1, "/version") == (200, "v1\n")
    run(session, ("app", "maintenance"), {"message": "Down for the upgrade"}, version="v1").raise_on_failure()
    ours = {ip: through_proxy(ip) for ip in (h1, h2)}
    assert all(code == 503 and "Down for the upgrade" in body for code, body in ours.values()), ours
    run(session, ("app", "live"), version="v1").raise_on_failure()
    assert version_of(h1) == version_of(h2) == "v1"
    # the real Kamal's maintenance serves the same page, and kamal_nb's live ends it
    kamal_ok(project, "app", "maintenance", "--message", "Down for the upgrade")
    assert {ip: through_proxy(ip) for ip in (h1, h2)} == ours
    run(session, ("app", "live"), version="v1").raise_on_failure()
    assert through_proxy(h1, "/version") == through_proxy(h2, "/version") == (200, "v1\n")


def test_a_stale_lock_is_released_only_past_its_age_and_its_holder_is_shown(session: Session, project: Path) -> None:
    kamal_ok(project, "lock", "acquire", "-m", "stuck deploy of v9")
    try:
        with pytest.raises(Refused) as refused:
            perform(session, ("lock", "release"), {"older_than": "1h"})
        said = str(refused.value)
        assert "stuck deploy of v9" in said and "not older than 1h" in said, said
        assert "Locked by:" in kamal_ok(project, "lock", "status"), "the fresh lock is still held"
        later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)
        session.clock = lambda: later
        result = run(session, ("lock", "release"), {"older_than": "1h"})
        assert result.messages[0].startswith("deploy lock held for 2h") and "stuck deploy of v9" in result.messages[0]
        assert result.messages[1] == "Released the deploy lock"
        assert "There is no deploy lock" in kamal_ok(project, "lock", "status")
    finally:
        subprocess.run([kamal_binary() or "kamal", "lock", "release"], cwd=project, capture_output=True, timeout=120)


def test_watch_shows_the_real_kamal_deploying_a_new_version(project: Path, fleet: FleetInfo) -> None:
    """`%kamal watch state` in a notebook while `kamal deploy` runs in a terminal: the hosts switch
    from v1 to v2 in the table, the changed cells highlighted; the stop button ends the watch."""
    h1, h2, h3 = fleet.host_ips
    cwd = os.getcwd()
    os.chdir(project)
    deployed: dict[str, int] = {}
    try:
        with kamal_shell("on") as shell:
            magics = shell.magics_manager.registry["KamalMagics"]
            seen: list[str] = []

            def terminal() -> None:
                deadline = time.monotonic() + 30
                while getattr(magics.last_view, "stop_button", None) is None and time.monotonic() < deadline:
                    time.sleep(0.05)
                time.sleep(1.5)  # the watch has its first table
                deploy = subprocess.Popen(
                    [kamal_binary() or "kamal", "deploy", "-P", "--version", "v2"],
                    cwd=project,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                while deploy.poll() is None:  # the table as a person sees it while the deploy runs
                    seen.append(magics.last_view.table.value)
                    time.sleep(0.1)
                deployed["code"] = deploy.wait(timeout=300)
                time.sleep(2.5)  # a tick or two after the deploy
                seen.append(magics.last_view.table.value)
                magics.last_view.stop_button.click()

            thread = threading.Thread(target=terminal)
            thread.start()
            result = shell.run_line_magic("kamal", "watch state --every 0.5 --for 240")
            thread.join()
        assert deployed.get("code") == 0
        assert result.stopped_by == "stop button"
        changes = [change for _, change in result.history]
        for host in (h1, h2):
            assert f"{host} web: version v1 → v2" in changes, changes
        assert f"{h3} jobs: version v1 → v2" in changes, changes
        assert result.last is not None
        assert {row["version"] for row in result.last.rows.values()} == {"v2"}
        assert list(result.df.columns) == ["time", "change"]
        highlighted = [table for table in seen if 'title="changed">v2 *' in table]
        assert highlighted, "a table with the new version highlighted was shown"
    finally:
        os.chdir(cwd)
