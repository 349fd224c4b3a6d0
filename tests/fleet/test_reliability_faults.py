"""Faults during deploys on the real fleet: each ends with a per-host report, the deploy lock
released, the previous version still serving wherever it served, and the same cell run again
converging. docs/reliability.md lists them.

The web role (h1 primary, h2) runs behind the proxy stand-in; the jobs role runs on h3. Each test
deploys "the other version" (v1 <-> v2) from whatever the fleet runs when it starts.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=2 .venv/bin/pytest tests/fleet/test_reliability_faults.py`.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.fleet import Output
from kamal_nb.ops.lock.deploy_lock import read_status
from kamal_nb.ops.session import Session
from kamal_nb.ops.steps import OperationInterrupted
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.images import build_app
from tests.fleet.helpers import run, running
from tests.fleet.project import deploy_config, write_project
from tests.fleet.reliability import assert_intact, assert_reported, on_event, starts, web_versions

pytestmark = pytest.mark.fleet

REDEPLOY = ("redeploy",)


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fleet_control.reset_hosts()
    # a version that never becomes healthy is given up on after 5 s, not Kamal's default 30 s
    project = write_project(tmp_path_factory.mktemp("faults"), fleet, deploy_config(fleet, deploy_timeout=5))
    session = Session(root=project)
    try:
        setup = run(session, ("setup",), {"skip_push": True}, version="v1")
        assert setup.ok, str(setup)
    finally:
        session.close()
    return project


@pytest.fixture
def session(project: Path) -> Iterator[Session]:
    session = Session(root=project, connect_timeout=5, command_timeout=60)
    yield session
    session.close()


def versions(fleet: FleetInfo) -> tuple[str, str]:
    """(what the web hosts serve now, the version to deploy)."""
    current = set(web_versions(fleet).values())
    assert len(current) == 1, current
    now = current.pop()
    return now, "v1" if now != "v1" else "v2"


def wait_for(what: str, predicate: object, timeout: float = 30) -> None:
    """Poll `predicate` (a callable) until true; fail with `what` after `timeout` seconds."""
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


def test_sshd_killed_mid_deploy(session: Session, fleet_control: Fleet, fleet: FleetInfo) -> None:
    h1, h2, h3 = fleet.host_ips
    before, target = versions(fleet)
    with on_event(session, starts(h1, "docker run"), lambda: fleet_control.stop_sshd("h3")) as fired:
        try:
            result = run(session, REDEPLOY, {"skip_push": True}, version=target)
        finally:
            fleet_control.start_sshd("h3")
    assert fired.is_set()
    assert_reported(result, {h3: h3})
    # the hosts that were reachable moved on; h3 kept the version it ran
    assert web_versions(fleet) == {h1: target, h2: target}

    assert running(fleet, 2) == [f"demo-jobs-{before}"]
    again = run(session, REDEPLOY, {"skip_push": True}, version=target)
    assert again.ok, str(again)
    assert_intact(session, fleet, target)


def test_dockerd_stopped_on_a_host(session: Session, fleet_control: Fleet, fleet: FleetInfo) -> None:
    h1, h2, _ = fleet.host_ips
    before, target = versions(fleet)
    fleet_control.stop_dockerd("h2")
    try:
        result = run(session, REDEPLOY, {"skip_push": True}, version=target)
        # the registry login before the pull failed on h2 (the docker CLI, finding no engine, tries the
        # registry itself), so nothing was booted anywhere and the lock was never taken
        assert_reported(result, {h2: "`docker login"})
        assert web_versions(fleet)[h1] == before
    finally:
        fleet_control.start_dockerd("h2")
    # the engine restarts its containers (restart unless-stopped): h2 serves what it served before
    wait_for("h2 to serve again", lambda: web_versions(fleet)[h2] == before)
    assert_intact(session, fleet, before)
    again = run(session, REDEPLOY, {"skip_push": True}, version=target)
    assert again.ok, str(again)
    assert_intact(session, fleet, target)


def test_registry_down_during_pull(session: Session, fleet_control: Fleet, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    before, target = versions(fleet)
    try:
        with on_event(session, starts(h1, "docker pull"), fleet_control.stop_registry) as fired:
            result = run(session, REDEPLOY, {"skip_push": True}, version=target)
    finally:
        fleet_control.start_registry()
    assert fired.is_set()
    assert not result.ok
    assert h1 in result.hosts.failed, str(result)
    for host, host_result in result.hosts.failed.items():
        assert "pull" in (host_result.failure or "") or "connection refused" in (host_result.failure or ""), host
    assert_reported(result, {h: "" for h in result.hosts.failed})
    assert_intact(session, fleet, before)
    again = run(session, REDEPLOY, {"skip_push": True}, version=target)
    assert again.ok, str(again)
    assert_intact(session, fleet, target)


def test_a_host_that_stops_answering_hits_the_command_timeout(
    project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    h1, h2, h3 = fleet.host_ips
    before, target = versions(fleet)
    session = Session(root=project, connect_timeout=3, command_timeout=8)
    try:
        with on_event(session, starts(h1, "docker run"), lambda: fleet_control.drop_ssh_packets("h3")) as fired:
            try:
                result = run(session, REDEPLOY, {"skip_push": True}, version=target)
            finally:
                if fired.is_set():
                    fleet_control.drop_ssh_packets("h3", drop=False)
        assert fired.is_set()
        # h3's next round trip cannot open its channel: "connection timed out after 3s"
        assert_reported(result, {h3: "timed out after"})

        assert web_versions(fleet) == {h1: target, h2: target}
        assert running(fleet, 2) == [f"demo-jobs-{before}"]
        again = run(session, REDEPLOY, {"skip_push": True}, version=target)
        assert again.ok, str(again)
        assert_intact(session, fleet, target)
    finally:
        session.close()


def test_a_command_running_when_its_host_stops_answering_times_out(
    project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    h1, _, h3 = fleet.host_ips
    session = Session(root=project, connect_timeout=3, command_timeout=4)
    started_on_h3 = lambda event: isinstance(event, Output) and event.host == h3 and "started" in event.lines  # noqa: E731
    try:
        with on_event(session, started_on_h3, lambda: fleet_control.drop_ssh_packets("h3")) as fired:
            try:
                result = run(session, ("server", "exec"), {"cmd": "echo started; sleep 20"}, hosts=(h3,))
            finally:
                if fired.is_set():
                    fleet_control.drop_ssh_packets("h3", drop=False)
        assert fired.is_set()
        assert_reported(result, {h3: f"{h3}: command timed out after 4s"})
        assert list(result.hosts) == [h3]
        again = run(session, ("server", "exec"), {"cmd": "echo back"})
        assert again.ok and again.output(h3) == again.output(h1) == "back\n", str(again)
    finally:
        session.close()


def test_a_version_that_never_becomes_healthy(session: Session, fleet: FleetInfo) -> None:
    h1, h2, h3 = fleet.host_ips
    before, _ = versions(fleet)
    build_app(fleet, "v3", healthy=False)
    for _attempt in (1, 2):  # the same cell again: the same report, nothing drifts
        result = run(session, REDEPLOY, {"skip_push": True}, version="v3")
        assert_reported(
            result,
            {h1: "target failed to become healthy", h2: "target failed to become healthy", h3: "not booting jobs"},
        )
        assert_intact(session, fleet, before)
    # once v3 is fixed (a healthy build under the same tag), the same cell converges
    build_app(fleet, "v3")
    fixed = run(session, REDEPLOY, {"skip_push": True}, version="v3")
    assert fixed.ok, str(fixed)
    assert_intact(session, fleet, "v3")


def test_keyboard_interrupt_in_the_middle_of_app_boot(session: Session, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    before, target = versions(fleet)

    def interrupt() -> None:
        raise KeyboardInterrupt

    with on_event(session, starts(h1, "docker run"), interrupt), pytest.raises(OperationInterrupted) as raised:
        run(session, REDEPLOY, {"skip_push": True}, version=target)
    message = str(raised.value)
    assert "the deploy lock was released" in message
    for ip in fleet.host_ips:
        assert f"  {ip}: " in message, message
    # no new version was registered with a proxy: both web hosts serve what they served

    assert read_status(session.context()) is None
    assert set(web_versions(fleet).values()) == {before}
    again = run(session, REDEPLOY, {"skip_push": True}, version=target)
    assert again.ok, str(again)
    assert_intact(session, fleet, target)
