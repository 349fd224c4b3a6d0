"""The container kamal-proxy routes to is never stopped before another one is healthy behind it; a
half-made deploy lock is shown as broken, with the way out.

After an interrupted same-version redeploy a host runs `demo-web-v1_replaced_<hex>` (serving) and a
new `demo-web-v1` (not serving). Kamal 2.11's next deploy stops the serving one as stale, and when the
new version never becomes healthy the host serves nothing. kamal_nb keeps it until a new version is
healthy behind the proxy, then stops it.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=5 .venv/bin/pytest tests/fleet/test_never_stop_serving.py -q`.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest

from kamal_nb.engine.plan import Plan
from kamal_nb.fleet import HostEvent, Started
from kamal_nb.ops.lock.deploy_lock import LockError, LockStatus, read_status
from kamal_nb.ops.session import Session
from kamal_nb.ops.steps import OperationInterrupted
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.images import build_app
from tests.fleet.helpers import perform, run, running, version_of
from tests.fleet.project import real_kamal, write_project

pytestmark = [pytest.mark.fleet, pytest.mark.slow]


class Requests(threading.Thread):
    """GET /version through a host's kamal-proxy in a loop, counting what failed."""

    def __init__(self, ip: str) -> None:
        super().__init__(daemon=True)
        self.ip, self.done, self.ok = ip, threading.Event(), 0
        self.failures: list[str] = []

    def run(self) -> None:
        while not self.done.is_set():
            try:
                version_of(self.ip)
                self.ok += 1
            except Exception as error:
                self.failures.append(repr(error))
            time.sleep(0.02)

    def __enter__(self) -> Requests:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.done.set()
        self.join(timeout=10)


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fleet_control.reset_hosts()
    root = write_project(tmp_path_factory.mktemp("serving"), fleet)
    session = Session(root=root)
    try:
        setup = run(session, ("setup",), {"skip_push": True}, version="v1")
        assert setup.ok, str(setup)
    finally:
        session.close()
    build_app(fleet, "v9", healthy=False)
    return root


def web(fleet: FleetInfo) -> list[str]:
    return [name for name in running(fleet, 0) if name.startswith("demo-web-")]


def interrupted_redeploy(session: Session, fleet: FleetInfo, version: str) -> None:
    """A redeploy of the running version, interrupted as it asks kamal-proxy to switch (on h1)."""
    h1 = fleet.host_ips[0]
    fired = threading.Event()

    def interrupt(event: HostEvent) -> None:
        switching = isinstance(event, Started) and event.host == h1 and "kamal-proxy deploy" in event.display
        if switching and not fired.is_set():
            fired.set()
            raise KeyboardInterrupt

    unsubscribe = session.events.subscribe(interrupt)
    try:
        with pytest.raises(OperationInterrupted):
            run(session, ("redeploy",), {"skip_push": True}, version=version)
    finally:
        unsubscribe()


def switched_but_not_finished(fleet: FleetInfo, version: str) -> None:
    """What a deploy of ``version`` killed (SIGKILL, a laptop lid) between kamal-proxy's switch and
    the old version's stop and tag leaves on h1: its container serves, the old one still runs and
    its image is still the latest."""
    import docker

    client = docker.DockerClient(base_url=fleet.hosts[0].docker_socket, timeout=30)
    try:
        name = f"demo-web-{version}"
        for container in client.containers.list(all=True, filters={"name": f"^{name}$"}):
            container.remove(force=True)
        new = client.containers.run(
            fleet.images[f"app-{version}"],
            name=name,
            detach=True,
            network="kamal",
            labels={"service": "demo", "role": "web", "destination": ""},
            environment={"KAMAL_VERSION": version},
        )
        switch = f"kamal-proxy deploy demo-web --target={new.short_id}:3000 --health-check-path=/up"
        code, output = client.containers.get("kamal-proxy").exec_run(switch)
        assert code == 0, output
    finally:
        client.close()


def test_the_serving_container_outlives_a_version_that_never_becomes_healthy(
    session: Session, fleet: FleetInfo
) -> None:
    h1 = fleet.host_ips[0]
    interrupted_redeploy(session, fleet, "v1")
    names = web(fleet)
    assert "demo-web-v1" in names and any(n.startswith("demo-web-v1_replaced_") for n in names), names
    assert version_of(h1) == "v1"

    plan = perform(session, ("deploy",), {"skip_push": True}, yes=False, version="v9")
    assert isinstance(plan, Plan)
    assert "kamal-proxy routes to" in str(plan)

    with Requests(h1) as requests:
        deploy = run(session, ("deploy",), {"skip_push": True}, version="v9")
    assert not deploy.ok
    assert "target failed to become healthy" in (deploy.hosts[h1].failure or "")
    assert requests.failures == [] and requests.ok > 10, requests.failures[:3]
    assert any(n.startswith("demo-web-v1_replaced_") for n in web(fleet))
    assert any("kamal-proxy routes to it" in m for m in deploy.messages), deploy.messages
    assert version_of(h1) == "v1"
    assert read_status(session.context()) is None


def test_stale_containers_stop_keeps_the_serving_one(session: Session, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    replaced = [n for n in web(fleet) if "_replaced_" in n]
    assert replaced, web(fleet)
    with Requests(h1) as requests:
        stale = run(session, ("app", "stale_containers"), {"stop": True}, version="v1")
    assert stale.ok, str(stale)
    assert requests.failures == [], requests.failures[:3]
    assert replaced[0] in web(fleet)
    assert any("kamal-proxy routes to it" in m for m in stale.messages), stale.messages
    assert version_of(h1) == "v1"


def test_a_healthy_version_takes_over_and_the_kept_one_is_stopped(session: Session, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    with Requests(h1) as requests:
        deploy = run(session, ("deploy",), {"skip_push": True}, version="v2")
    assert deploy.ok, str(deploy)
    assert requests.failures == [], requests.failures[:3]
    assert web(fleet) == ["demo-web-v2"]
    assert version_of(h1) == "v2"


def test_a_kept_container_renamed_out_of_the_way_is_stopped_by_its_new_name(session: Session, fleet: FleetInfo) -> None:
    """A deploy of v1 stopped after kamal-proxy switched to it, before v2 was stopped and tagged the
    latest: v1 serves, and v2 (the latest image's container) is the current version. Deploying v1
    again keeps the serving v1 (stale), renames it out of the way of the new v1 and, once the new one
    is healthy, stops it by its new name: its old name is the new container's now."""
    h1 = fleet.host_ips[0]
    switched_but_not_finished(fleet, "v1")
    assert web(fleet) == ["demo-web-v1", "demo-web-v2"] and version_of(h1) == "v1", web(fleet)
    with Requests(h1) as requests:
        deploy = run(session, ("deploy",), {"skip_push": True}, version="v1")
    assert deploy.ok, str(deploy)
    assert any("kamal-proxy routes to it" in m for m in deploy.messages), deploy.messages
    assert requests.failures == [], requests.failures[:3]
    assert web(fleet) == ["demo-web-v1"]
    assert version_of(h1) == "v1"
    recovered = run(session, ("deploy",), {"skip_push": True}, version="v2")  # as the next tests expect
    assert recovered.ok, str(recovered)


# -- a half-made lock: the directory made, its details file not (a full disk, a cut connection) ----

HALF_MADE = {"empty": b"", "missing": None, "unreadable": b"%%% not base64 %%%\n"}


@pytest.mark.parametrize("details", sorted(HALF_MADE))
def test_a_half_made_lock_is_shown_as_broken_and_a_deploy_refuses_with_the_way_out(
    session: Session, fleet: FleetInfo, details: str
) -> None:
    lock = Path(fleet.base) / "nodes" / "h1" / "root" / ".kamal" / "lock-demo"
    lock.mkdir()
    content = HALF_MADE[details]
    if content is not None:
        (lock / "details").write_bytes(content)
    two_hours_ago = time.time() - 7260
    os.utime(lock, (two_hours_ago, two_hours_ago))
    try:
        status = run(session, ("lock", "status"))
        assert status.ok, str(status)
        said = "\n".join(status.messages)
        assert "Broken deploy lock: .kamal/lock-demo exists" in said, said
        assert "made 2h 1m ago" in said and "`kamal lock release`" in said, said
        assert isinstance(status.data, LockStatus) and status.data.broken

        with pytest.raises(LockError) as refused:
            perform(session, ("deploy",), {"skip_push": True}, version="v2")
        message = str(refused.value)
        assert message.startswith("Deploy lock found.") and "Broken deploy lock" in message, message
        assert "`kamal lock release`" in message and "made 2h 1m ago" in message, message
        with pytest.raises(LockError, match="Broken deploy lock"):  # nobody will release it: no wait
            perform(session, ("redeploy",), {"skip_push": True}, version="v2", lock_wait=True, lock_wait_timeout=60)
        assert web(fleet) == ["demo-web-v2"], "nothing ran on a host"

        released = run(session, ("lock", "release"))
        assert released.ok and released.messages[-1].startswith("Released the"), released.messages
        assert not lock.exists()
        assert read_status(session.context()) is None
    finally:
        if lock.exists():
            shutil.rmtree(lock)


def test_the_real_kamal_stops_the_serving_container_in_the_same_case(
    session: Session, project: Path, fleet: FleetInfo
) -> None:
    """The case is real: Kamal 2.11's deploy stops the container kamal-proxy routes to as stale, and
    the host serves nothing while (and after) the new version fails its health check."""
    h1 = fleet.host_ips[0]
    interrupted_redeploy(session, fleet, "v2")
    assert any(n.startswith("demo-web-v2_replaced_") for n in web(fleet)) and version_of(h1) == "v2"
    try:
        with Requests(h1) as requests:
            kamal = real_kamal(project, "deploy", "--skip-push", "--version", "v9")
        assert kamal.returncode != 0
        assert "Stopping stale container for role web with version v2_replaced_" in kamal.stdout + kamal.stderr
        assert len(requests.failures) > 0, requests.ok
        assert not any("_replaced_" in n for n in web(fleet))
    finally:
        real_kamal(project, "lock", "release")
        recovered = run(session, ("redeploy",), {"skip_push": True}, version="v2")
    assert recovered.ok, str(recovered)
    assert version_of(h1) == "v2"
