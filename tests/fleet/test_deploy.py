"""Deploy, redeploy, rollback and setup on the real fleet, beside the real Kamal 2.11.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=3 .venv/bin/pytest tests/fleet/test_deploy.py -q`.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.engine.plan import Plan
from kamal_nb.fleet import HostEvent, Started
from kamal_nb.ops.lock.deploy_lock import read_status
from kamal_nb.ops.session import Session
from kamal_nb.ops.steps import OperationInterrupted
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.images import build_app
from tests.fleet.helpers import perform, run, running, version_of
from tests.fleet.project import APP_SECRET, real_kamal, write_project

pytestmark = pytest.mark.fleet

RANDOM = re.compile(r"_replaced_[0-9a-f]{16}|-?\b[0-9a-f]{12}$|\[\d{4}-\d\d-\d\dT[\d:]+Z\]")


def snapshot(fleet: FleetInfo) -> dict[str, Any]:
    """What Kamal's state looks like on each host, ids, times and random suffixes masked."""
    import docker

    state: dict[str, Any] = {}
    for host in fleet.hosts:
        client = docker.DockerClient(base_url=host.docker_socket, timeout=30)
        try:
            containers = sorted(
                (
                    RANDOM.sub("*", str(c.name)),
                    c.status,
                    tuple(sorted((k, v) for k, v in c.labels.items() if k in ("service", "role", "destination"))),
                    RANDOM.sub("*", c.attrs["Config"]["Hostname"]),
                    tuple(sorted(e.split("=", 1)[0] for e in c.attrs["Config"]["Env"])),
                )
                for c in client.containers.list(all=True)
            )
            tags = sorted(t.rsplit("/", 1)[-1] for i in client.images.list() for t in i.tags if "/demo:" in t)
        finally:
            client.close()
        home = Path(fleet.base) / "nodes" / host.name / "root"
        layout = sorted(
            f"{p.relative_to(home)} {p.stat().st_mode & 0o777:o}"
            for p in (home / ".kamal").rglob("*")
            if not p.name.endswith("audit.log")
        )
        envs = {str(p.relative_to(home)): p.read_text() for p in (home / ".kamal").rglob("*.env") if p.is_file()}
        audit_file = home / ".kamal" / "demo-audit.log"
        audit_lines = (
            [RANDOM.sub("*", line) for line in audit_file.read_text().splitlines()] if audit_file.exists() else []
        )
        state[host.name] = {
            "containers": containers,
            "tags": tags,
            "layout": layout,
            "envs": envs,
            "audit": audit_lines,
        }
    return state


class Client(threading.Thread):
    """Requests through the proxy in a loop, counting failures."""

    def __init__(self, ip: str) -> None:
        super().__init__(daemon=True)
        self.ip, self.stop, self.ok, self.failures = ip, threading.Event(), 0, []  # type: ignore[var-annotated]
        self.seen: set[str] = set()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.seen.add(version_of(self.ip))
                self.ok += 1
            except Exception as error:
                self.failures.append(repr(error))
            time.sleep(0.02)


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_project(tmp_path_factory.mktemp("deploy"), fleet)


def test_plans_name_every_command_and_run_nothing(session: Session, fleet: FleetInfo) -> None:
    plan = perform(session, ("deploy",), {"skip_push": True}, yes=False, version="v1")
    assert isinstance(plan, Plan)
    text = str(plan)
    assert "docker run --detach --restart unless-stopped --name demo-web-v1" in text
    assert APP_SECRET not in text and fleet.registry_password not in text
    assert "nothing was run" in text


def test_deploy_leaves_the_state_kamal_leaves(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    fleet_control.reset_hosts()
    for args in (("setup", "-P", "--version", "v1"), ("deploy", "-P", "--version", "v2")):
        done = real_kamal(project, *args)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    kamal_state = snapshot(fleet)
    fleet_control.reset_hosts()
    setup = run(session, ("setup",), {"skip_push": True}, version="v1")
    assert setup.ok, str(setup)
    deploy = run(session, ("deploy",), {"skip_push": True}, version="v2")
    assert deploy.ok, str(deploy)
    ours = snapshot(fleet)
    for host, state in kamal_state.items():
        for key, value in state.items():
            assert (host, key, ours[host][key]) == (host, key, value)
    assert ours["h1"]["envs"][".kamal/apps/demo/env/roles/web.env"] == f"DEMO_SECRET={APP_SECRET}\n"
    assert ".kamal/apps/demo/env/roles/web.env 600" in ours["h1"]["layout"]
    assert read_status(session.context()) is None
    assert version_of(fleet.hosts[0].ip) == "v2"
    assert APP_SECRET not in str(deploy) and APP_SECRET not in repr(deploy.hosts)


def test_interop_with_the_real_kamal(session: Session, project: Path, fleet: FleetInfo) -> None:
    # deployed by kamal_nb (the test above): the real Kamal reads it and rolls it back
    details = real_kamal(project, "app", "details", "-q")
    assert details.returncode == 0 and "demo-web-v2" in details.stdout
    back = real_kamal(project, "rollback", "v1")
    assert back.returncode == 0, back.stdout[-2000:] + back.stderr[-2000:]
    assert version_of(fleet.hosts[0].ip) == "v1"
    # rolled back by Kamal: kamal_nb sees it and rolls forward again
    versions = run(session, ("app", "version"))
    assert {versions.output(ip).strip() for ip in fleet.host_ips} == {"v1"}
    forward = run(session, ("rollback",), {"version": "v2"})
    assert forward.ok and forward.data is True, str(forward)
    assert version_of(fleet.hosts[0].ip) == "v2"
    assert running(fleet, 2) == ["demo-jobs-v2"]


def test_rollback_to_a_missing_version_is_refused_with_kamals_message(session: Session, fleet: FleetInfo) -> None:
    result = run(session, ("rollback",), {"version": "v9"})
    assert result.data is False
    assert (
        "The app version 'v9' is not available as a container (use 'kamal app containers' for available versions)"
        in result.messages
    )
    assert running(fleet, 0) == ["demo-web-v2"]
    assert read_status(session.context()) is None


def test_redeploy_and_rollback_serve_every_request(session: Session, fleet: FleetInfo) -> None:
    client = Client(fleet.hosts[0].ip)
    client.start()
    try:
        redeploy = run(session, ("redeploy",), {"skip_push": True}, version="v1")
        assert redeploy.ok, str(redeploy)
        rollback = run(session, ("rollback",), {"version": "v2"})
        assert rollback.ok, str(rollback)
    finally:
        client.stop.set()
        client.join()
    assert client.failures == []
    assert client.ok > 10 and client.seen == {"v1", "v2"}


def test_the_lock_release_rides_in_the_primarys_last_round_trip(
    session: Session, fleet: FleetInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kamal_nb.commands import App, Lock
    from kamal_nb.commands.command import cmd
    from kamal_nb.fleet.runner import FleetRunner

    sent: list[tuple[str, str]] = []  # (host, what went) for every round trip
    original = FleetRunner.run

    def spy(self: FleetRunner, steps: Any, **kwargs: Any) -> Any:
        for host, host_steps in steps.items():
            sent.extend((host, step.wire() if hasattr(step, "wire") else str(step)) for step in host_steps)
        return original(self, steps, **kwargs)

    monkeypatch.setattr(FleetRunner, "run", spy)
    release = Lock(session.context().config).release().wire()
    primary = fleet.host_ips[0]
    rollback = run(session, ("rollback",), {"version": "v1"})
    assert rollback.ok, str(rollback)
    releases = [(host, trip) for host, trip in sent if release in trip]
    assert len(releases) == 1
    assert releases[0][0] == primary and "docker tag " in releases[0][1]
    assert read_status(session.context()) is None
    # a tag that fails on the primary ends that round trip before the release: it is released on its own
    sent.clear()
    monkeypatch.setattr(App, "tag_latest_image", lambda self: cmd("false"))
    failed = run(session, ("rollback",), {"version": "v2"})
    assert not failed.ok
    assert [host for host, trip in sent if release in trip] == [primary, primary]
    assert read_status(session.context()) is None
    assert version_of(fleet.host_ips[0]) == "v2"
    monkeypatch.undo()
    # an interrupt as that round trip starts (the release in it hung up, or not yet run): released
    fired = threading.Event()

    def interrupt(event: HostEvent) -> None:
        last_trip = isinstance(event, Started) and event.host == primary and "docker tag " in event.display
        if last_trip and not fired.is_set():
            fired.set()
            raise KeyboardInterrupt

    unsubscribe = session.events.subscribe(interrupt)
    try:
        with pytest.raises(OperationInterrupted) as raised:
            run(session, ("rollback",), {"version": "v1"})
    finally:
        unsubscribe()
    assert fired.is_set() and "the deploy lock was released" in str(raised.value)
    assert read_status(session.context()) is None
    recovered = run(session, ("rollback",), {"version": "v2"})
    assert recovered.ok, str(recovered)


def test_an_unhealthy_version_leaves_the_old_one_serving(session: Session, fleet: FleetInfo) -> None:
    build_app(fleet, "v3", healthy=False)
    result = run(session, ("redeploy",), {"skip_push": True}, version="v3")
    assert not result.ok
    h1, h2, h3 = fleet.host_ips
    assert "target failed to become healthy" in (result.hosts[h1].failure or "")
    assert f"web on {h1}" in (result.hosts[h1].failure or "")
    assert "not booting jobs" in (result.hosts[h3].failure or "")
    assert version_of(h1) == "v2" and version_of(h2) == "v2"
    assert running(fleet, 0) == ["demo-web-v2"] and running(fleet, 2) == ["demo-jobs-v2"]
    assert read_status(session.context()) is None


def test_a_host_lost_mid_deploy_is_reported_and_the_others_finish(
    session: Session, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    h1, h2, h3 = fleet.host_ips
    stopped = threading.Event()

    def lose_h3(event: HostEvent) -> None:
        if isinstance(event, Started) and event.host == h1 and "docker run" in event.display and not stopped.is_set():
            stopped.set()
            fleet_control.stop_sshd("h3")

    unsubscribe = session.events.subscribe(lose_h3)
    try:
        result = run(session, ("redeploy",), {"skip_push": True}, version="v1")
    finally:
        unsubscribe()
        fleet_control.start_sshd("h3")
    assert stopped.is_set()
    assert not result.ok
    assert result.hosts[h1].ok and result.hosts[h2].ok
    assert h3 in (result.hosts[h3].failure or "")
    assert version_of(h1) == "v1"
    assert read_status(session.context()) is None


def test_an_interrupted_deploy_releases_the_lock_and_says_what_happened(session: Session, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    fired = threading.Event()

    def interrupt(event: HostEvent) -> None:
        starts_deploy = isinstance(event, Started) and event.host == h1 and "kamal-proxy deploy" in event.display
        if starts_deploy and not fired.is_set():
            fired.set()
            raise KeyboardInterrupt

    unsubscribe = session.events.subscribe(interrupt)
    try:
        with pytest.raises(OperationInterrupted) as raised:
            run(session, ("redeploy",), {"skip_push": True}, version="v2")
    finally:
        unsubscribe()
    message = str(raised.value)
    assert "the deploy lock was released" in message
    for ip in fleet.host_ips:
        assert ip in message
    assert read_status(session.context()) is None
    # a hook that interrupts (Ctrl-C sent to kamal_nb) does the same
    hook = Path(session.root) / ".kamal" / "hooks" / "pre-deploy"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\nkill -INT $PPID\nsleep 5\n")
    hook.chmod(0o755)
    try:
        with pytest.raises(OperationInterrupted) as raised:
            run(session, ("redeploy",), {"skip_push": True}, version="v2")
    finally:
        hook.unlink()
    assert read_status(session.context()) is None
    recovered = run(session, ("redeploy",), {"skip_push": True}, version="v2")
    assert recovered.ok, str(recovered)
    assert version_of(h1) == "v2"


def test_setup_reports_a_host_without_docker(
    session: Session, fleet: FleetInfo, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kamal_nb.commands import Docker
    from kamal_nb.commands.command import cmd

    monkeypatch.setattr(Docker, "installed", lambda self: cmd("docker-missing-here", "-v"))
    result = run(session, ("setup",), {"skip_push": True}, version="v2")
    assert not result.ok
    assert any(
        "Docker is not installed on" in m and "https://docs.docker.com/engine/install/" in m for m in result.messages
    )
    assert read_status(session.context()) is None


def test_a_failure_right_after_the_lock_releases_it(session: Session, fleet: FleetInfo) -> None:
    # the primary's boot reads ride on its lock's round trip: the env directory cannot be made there
    env = Path(fleet.base) / "nodes" / "h1" / "root" / ".kamal" / "apps" / "demo" / "env"
    saved = env.with_name("env.saved")
    env.rename(saved)
    env.write_text("not a directory")
    try:
        result = run(session, ("redeploy",), {"skip_push": True}, version="v1")
    finally:
        env.unlink()
        saved.rename(env)
    assert not result.ok
    assert "mkdir -p .kamal/apps/demo/env/roles" in (result.hosts[fleet.host_ips[0]].failure or "")
    assert read_status(session.context()) is None
    assert version_of(fleet.host_ips[0]) == "v2"
