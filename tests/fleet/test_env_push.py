"""`env push` writes the env files Kamal 2 writes (paths, content, 0600), and reboots nothing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.lock.deploy_lock import read_status
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import set_up_with_kamal
from tests.fleet.project import APP_SECRET, deploy_config, real_kamal

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Deployed at v1 by the real Kamal, with an accessory on the jobs host."""
    accessory = {
        "image": f"{fleet.registry}/base/busybox:latest",
        "host": fleet.hosts[2].ip,
        "cmd": "sleep 1000000",
        "env": {"clear": {"MODE": "cache"}, "secret": ["DEMO_SECRET"]},
    }
    config = deploy_config(fleet, accessories={"cache": accessory})
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("envpush"), config)


def env_files(fleet: FleetInfo) -> dict[tuple[str, str], tuple[str, int]]:
    files = {}
    for host in fleet.hosts:
        env = Path(fleet.base) / "nodes" / host.name / "root" / ".kamal" / "apps" / "demo" / "env"
        for path in env.rglob("*.env"):
            files[(host.name, str(path.relative_to(env)))] = (path.read_text(), os.stat(path).st_mode & 0o777)
    return files


def started(fleet: FleetInfo) -> dict[str, str]:
    import docker

    times = {}
    for host in fleet.hosts:
        client = docker.DockerClient(base_url=host.docker_socket, timeout=30)
        try:
            for container in client.containers.list():
                times[f"{host.name}/{container.name}"] = container.attrs["State"]["StartedAt"]
        finally:
            client.close()
    return times


def test_env_push_writes_what_kamal_writes_and_restarts_nothing(session: Session, fleet: FleetInfo) -> None:
    kamal_files = env_files(fleet)
    assert set(kamal_files) == {
        ("h1", "roles/web.env"),
        ("h2", "roles/web.env"),
        ("h3", "roles/jobs.env"),
        ("h3", "accessories/cache.env"),
    }
    before = started(fleet)
    for host in fleet.hosts:  # lose them: env push must write them back exactly
        for path in (Path(fleet.base) / "nodes" / host.name / "root" / ".kamal" / "apps").rglob("*.env"):
            path.unlink()
    plan = catalog.perform(session.context(), ("env", "push"), {})
    assert isinstance(plan, Plan) and APP_SECRET not in str(plan) and APP_SECRET not in repr(plan)
    assert env_files(fleet) == {}, "a plan runs nothing"
    result = catalog.perform(session.context(), ("env", "push"), {}, yes=True)
    assert isinstance(result, OperationResult) and result.ok, str(result)
    assert env_files(fleet) == kamal_files
    assert started(fleet) == before
    assert APP_SECRET not in str(result)
    assert read_status(session.context()) is None


def test_env_push_carries_a_changed_secret_to_every_file(session: Session, project: Path, fleet: FleetInfo) -> None:
    secrets = project / ".kamal" / "secrets"
    original = secrets.read_text()
    secrets.write_text(original.replace(APP_SECRET, "rotated-secret-4242"))
    try:
        before = started(fleet)
        result = catalog.perform(Session(root=project).context(GlobalOptions()), ("env", "push"), {}, yes=True)
        assert isinstance(result, OperationResult) and result.ok, str(result)
        files = env_files(fleet)
        assert all(content == "DEMO_SECRET=rotated-secret-4242\n" and mode == 0o600 for content, mode in files.values())
        assert started(fleet) == before
        # the real Kamal's boot writes the same file
        boot = real_kamal(project, "app", "boot", "--version", "v1", "-r", "web", "-h", fleet.hosts[0].ip)
        assert boot.returncode == 0, boot.stdout[-2000:] + boot.stderr[-2000:]
        assert env_files(fleet) == files
    finally:
        secrets.write_text(original)
