"""`builder.remote: ssh://root@HOST` with `builder.local: false`: the image is built on that fleet
host's engine, reached over kamal_nb's own SSH connection (`docker system dial-stdio`), on its
BuildKit with builder.secrets served by kamal_nb's session, pushed from there to the fleet registry
and deployed, while the local engine is unreachable (DOCKER_HOST points nowhere).

Run with its own fleet: `KAMAL_NB_TEST_FLEET=6 .venv/bin/pytest tests/fleet/test_remote_builder.py`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import urllib.request
from pathlib import Path

import pytest

from kamal_nb.engine.plan import Plan
from kamal_nb.fleet.events import HostEvent, Output, Started
from kamal_nb.ops.build.engines import EngineUnavailable
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing import images
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import perform, run
from tests.fleet.project import deploy_config, real_kamal, write_project

pytestmark = pytest.mark.fleet


@pytest.fixture(autouse=True)
def _own_run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Operations that change hosts log to the test's directory, never to the user's state."""
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))


APP = Path(images.__file__).parent / "app"
BUILD_TOKEN = "remote-build-token-5e4d3c2b1a"
DOCKERFILE = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
ARG VERSION=dev
ARG SERVICE=demo
RUN mkdir -p /www && echo "$VERSION" > /www/version && echo ok > /www/up
RUN --mount=type=secret,id=BUILD_TOKEN sha256sum /run/secrets/BUILD_TOKEN | cut -d' ' -f1 > /www/token-sha
COPY web.sh jobs.sh /
EXPOSE 3000
LABEL service=$SERVICE
CMD ["/bin/sh", "/web.sh"]
"""
NOWHERE = "unix:///nonexistent/kamal-nb-test/docker.sock"


def _project(directory: Path, fleet: FleetInfo, builder_host: str, **extra: object) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "Dockerfile").write_text(DOCKERFILE)
    for script in ("web.sh", "jobs.sh"):
        shutil.copy(APP / script, directory / script)
    builder = {
        "arch": "amd64",
        "local": False,
        "remote": f"ssh://root@{builder_host}",
        "args": {"BASE_IMAGE": f"{fleet.registry}/base/busybox:latest", "SERVICE": "demo", "VERSION": "r1"},
        "secrets": ["BUILD_TOKEN"],
        **extra,
    }
    return write_project(directory, fleet, deploy_config(fleet, builder=builder), {"BUILD_TOKEN": BUILD_TOKEN})


def _get(ip: str, path: str) -> str:
    with urllib.request.urlopen(f"http://{ip}/{path}", timeout=5) as response:
        return str(response.read().decode()).strip()


def _pull_base(fleet: FleetInfo, socket: str) -> None:
    """The base image in the builder host's store: the BuildKit of its dockerd 20.10 asks an
    insecure (HTTP) registry over HTTPS for a FROM image it does not have (the classic pull honours
    insecure-registries), so the FROM image is pulled there first, as a builder host would have it."""
    import docker

    client = docker.DockerClient(base_url=socket, timeout=60)
    try:
        auth = {"username": fleet.registry_user, "password": fleet.registry_password}
        client.images.pull(f"{fleet.registry}/base/busybox", tag="latest", auth_config=auth)
    finally:
        client.close()


def _tags(socket: str) -> set[str]:
    import docker

    client = docker.DockerClient(base_url=socket, timeout=60)
    try:
        return {tag for image in client.images.list() for tag in image.tags}
    finally:
        client.close()


def test_remote_builder_builds_on_the_fleet_host_and_deploys_without_a_local_engine(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fleet_control.reset_hosts()
    run_log = tmp_path / "runs.jsonl"
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(run_log))
    builder = fleet.hosts[2]  # the jobs host: its engine builds, and it deploys too
    project = _project(tmp_path / "app", fleet, builder.ip)
    _pull_base(fleet, builder.docker_socket)
    session = Session(root=project, env={**os.environ, "DOCKER_HOST": NOWHERE})
    seen: list[HostEvent] = []
    session.events.subscribe(seen.append)
    try:
        plan = perform(session, ("build", "push"), yes=False, version="r1")
        assert isinstance(plan, Plan)
        assert f"ssh://root@{builder.ip}'s BuildKit over SSH" in str(plan)
        details = run(session, ("build", "details"))
        assert f"remote engine ssh://root@{builder.ip} builds: amd64" in str(details)
        result = run(session, ("deploy",), version="r1")
        assert result.ok, str(result)
        # one SSH connection per host, the builder's included: the build rode the warm one to h3
        assert session.context(GlobalOptions(version="r1")).runner.pool.opened == len(fleet.hosts)
    finally:
        session.close()

    image = f"{fleet.registry}/demo:r1"
    assert image in _tags(builder.docker_socket)  # built there, then pushed from there
    assert image not in _tags(fleet.local_docker_socket)  # the build engine node was not used
    started = [e for e in seen if isinstance(e, Started) and "build " in e.display]
    assert started and f"remote engine ssh://root@{builder.ip}" in started[0].display
    for host in fleet.hosts[:2]:
        assert _get(host.ip, "version") == "r1"
        assert _get(host.ip, "token-sha") == hashlib.sha256(BUILD_TOKEN.encode()).hexdigest()
    build_lines = "\n".join(e.text for e in seen if isinstance(e, Output))
    assert "DONE" in build_lines  # BuildKit's progress, translated
    assert BUILD_TOKEN not in build_lines and BUILD_TOKEN not in run_log.read_text()
    # the bridge is gone: no kamal-nb-engine socket directory is left behind
    leftovers = [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("kamal-nb-engine-*")]
    assert not [p for p in leftovers if p.stat().st_uid == os.getuid() and (p / "docker.sock").exists()]


def test_an_unreachable_remote_engine_is_one_line(fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path) -> None:
    # a fleet host's engine stopped: the remote builder cannot be reached, said in one line, nothing ran
    fleet_control.reset_hosts()
    builder = fleet.hosts[2]
    project = _project(tmp_path / "app", fleet, builder.ip)
    session = Session(root=project, env={**os.environ, "DOCKER_HOST": NOWHERE})
    fleet_control.stop_dockerd("h3")
    try:
        with pytest.raises(EngineUnavailable) as raised:
            run(session, ("build", "push"), version="r2")
    finally:
        fleet_control.start_dockerd("h3")
        session.close()
    message = str(raised.value)
    assert "\n" not in message
    # what `docker system dial-stdio` said on the host, not the HTTP client's words
    assert message.startswith(f"cannot reach the Docker engine of root@{builder.ip}: ")
    assert "/var/run/docker.sock" in message and "Connection aborted" not in message


def test_real_kamal_with_the_same_config_needs_buildx(fleet: FleetInfo, tmp_path: Path) -> None:
    """What the real Kamal 2.11 does with this config here: it needs the buildx plugin, which this
    machine does not have, so it stops before building (kamal_nb builds without it)."""
    project = _project(tmp_path / "app", fleet, fleet.hosts[2].ip)
    done = real_kamal(project, "build", "push", "--version", "r1", timeout=120)
    said = done.stdout + done.stderr
    assert done.returncode != 0
    assert "buildx" in said, said[-2000:]


TARGETED = """\
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS base
COPY note.txt /note.txt
FROM base AS chosen
ARG FLAVOUR=none
RUN echo "$FLAVOUR" > /flavour
LABEL service=demo stage=chosen
FROM base AS other
LABEL service=demo stage=other
"""


def test_the_working_tree_a_dockerfile_path_a_target_and_args_build_the_same_on_the_remote_engine(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    builder = fleet.hosts[2]
    _pull_base(fleet, builder.docker_socket)
    project = tmp_path / "app"
    project.mkdir()
    (project / "docker").mkdir()
    (project / "docker" / "App.Dockerfile").write_text(TARGETED)
    (project / "note.txt").write_text("committed\n")
    config = deploy_config(
        fleet,
        builder={
            "arch": "amd64",
            "local": False,
            "remote": f"ssh://root@{builder.ip}",
            "context": ".",
            "dockerfile": "docker/App.Dockerfile",
            "target": "chosen",
            "args": {"BASE_IMAGE": f"{fleet.registry}/base/busybox:latest", "FLAVOUR": "remote-arg"},
        },
    )
    write_project(project, fleet, config)
    (project / "note.txt").write_text("from the working tree\n")  # not committed: context "." takes it
    session = Session(root=project, env={**os.environ, "DOCKER_HOST": NOWHERE})
    try:
        result = run(session, ("build", "push"), version="r3")
        assert result.ok, str(result)
    finally:
        session.close()
    import docker

    client = docker.DockerClient(base_url=builder.docker_socket, timeout=60)
    try:
        image = client.images.get(f"{fleet.registry}/demo:r3")
        assert image.labels["stage"] == "chosen"
        out = client.containers.run(image, ["sh", "-c", "cat /note.txt /flavour"], remove=True)
    finally:
        client.close()
    assert out.decode().splitlines() == ["from the working tree", "remote-arg"]
