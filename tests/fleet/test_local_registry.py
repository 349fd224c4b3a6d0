"""`registry.server: localhost:5555`, Kamal's local registry: `registry setup` starts the
`kamal-docker-registry` container on the local engine (here the fleet's build engine node, its
`registry:3` built from Debian's docker-registry), `deploy` builds there and pushes to it, and each
host pulls `localhost:5555/demo:VERSION` through SSH remote port forwarding on kamal_nb's own
connection. Afterwards nothing listens on 5555 on any host; `registry remove` removes the container.

kamal-nb runs as a person's machine would run it: in the build engine node's network namespace, so
the registry's `127.0.0.1:5555` is its own loopback (nsenter --net; no other namespace is entered).

Run with its own fleet: `KAMAL_NB_TEST_FLEET=6 .venv/bin/pytest tests/fleet/test_local_registry.py`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kamal_nb.testing import images
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.registry_image import provide_registry_image
from tests.fleet.helpers import version_of
from tests.fleet.project import deploy_config, kamal_binary, write_project

pytestmark = pytest.mark.fleet


@pytest.fixture(autouse=True)
def _own_run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Operations that change hosts log to the test's directory, never to the user's state."""
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))


APP = Path(images.__file__).parent / "app"
PORT = 5555
CONTAINER = "kamal-docker-registry"


def _client(socket: str):  # type: ignore[no-untyped-def]
    import docker

    return docker.DockerClient(base_url=socket, timeout=60)


def _project(directory: Path, fleet: FleetInfo, remote: str | None = None) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("Dockerfile", "web.sh", "jobs.sh"):
        shutil.copy(APP / name, directory / name)
    config = deploy_config(
        fleet,
        registry={"server": f"localhost:{PORT}"},
        builder={
            "arch": "amd64",
            "args": {"BASE_IMAGE": f"{fleet.registry}/base/busybox:latest", "VERSION": "l1", "SERVICE": "demo"},
            **({"remote": remote, "local": False} if remote else {}),
        },
    )
    return write_project(directory, fleet, config)


def _proxy_image_on_hosts(fleet: FleetInfo) -> None:
    """The hosts log in to no registry with a local one: the proxy stand-in (from the fleet's
    registry, which wants a login) is put in their stores first, as if an earlier setup had."""
    auth = {"username": fleet.registry_user, "password": fleet.registry_password}
    for host in fleet.hosts:
        client = _client(host.docker_socket)
        try:
            repository, _, tag = fleet.images["kamal-proxy"].rpartition(":")
            client.images.pull(repository, tag=tag, auth_config=auth)
        finally:
            client.close()


def _in_local_node(
    fleet_control: Fleet, fleet: FleetInfo, project: Path, *argv: str
) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DOCKER_HOST": fleet.local_docker_socket, "KAMAL_NB_RUN_LOG": str(project / "runs.jsonl")}
    return subprocess.run(
        ["nsenter", f"--net=/run/netns/{fleet_control.netns('local')}", *argv],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def _listening(fleet_control: Fleet, host: str) -> str:
    """What listens on PORT in a host's namespace (`ss`), empty when nothing does."""
    done = subprocess.run(
        ["nsenter", f"--net=/run/netns/{fleet_control.netns(host)}", "ss", "-Htln", f"sport = :{PORT}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


def _registry_container(fleet: FleetInfo) -> list[str]:
    client = _client(fleet.local_docker_socket)
    try:
        return [str(c.status) for c in client.containers.list(all=True, filters={"name": CONTAINER})]
    finally:
        client.close()


def test_deploy_through_the_local_registry_and_port_forwarding(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    fleet_control.reset_hosts()
    local = _client(fleet.local_docker_socket)
    try:
        provide_registry_image(local)
    finally:
        local.close()
    _proxy_image_on_hosts(fleet)
    project = _project(tmp_path / "app", fleet)
    cli = str(Path(sys.executable).parent / "kamal-nb")
    try:
        setup = _in_local_node(fleet_control, fleet, project, cli, "registry", "setup", "--yes", "-v")
        assert setup.returncode == 0, setup.stdout + setup.stderr
        assert "docker run --detach -p 127.0.0.1:5555:5000 --name kamal-docker-registry registry:3" in setup.stdout
        assert _registry_container(fleet) == ["running"]

        deploy = _in_local_node(fleet_control, fleet, project, cli, "deploy", "--version", "l1", "--yes", "-v")
        assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
        assert "docker pull localhost:5555/demo:l1" in deploy.stdout
        assert (
            f"Setting up local registry port forwarding to {', '.join(h.ip for h in fleet.hosts)}..." in deploy.stdout
        )
        assert "docker login" not in deploy.stdout  # a local registry needs no login anywhere
        for host in fleet.hosts[:2]:
            assert version_of(host.ip) == "l1"
        for index, host in enumerate(fleet.hosts):
            client = _client(host.docker_socket)
            try:
                tags = {tag for image in client.images.list() for tag in image.tags}
            finally:
                client.close()
            assert "localhost:5555/demo:l1" in tags, host.name
            # the forward was for the pulls only: nothing listens on the port on any host afterwards
            assert _listening(fleet_control, f"h{index + 1}") == "", host.name

        # a pull without kamal_nb's forward cannot reach the registry: the forward did the work
        client = _client(fleet.hosts[0].docker_socket)
        try:
            with pytest.raises(Exception, match="5555"):
                client.images.pull("localhost:5555/demo", tag="l1")
        finally:
            client.close()
        # the real Kamal 2.11, run the same way (`deploy -P` needs no buildx), pulls the version
        # kamal_nb pushed through a forward of its own, from the same registry container
        fleet_control.reset_hosts()
        _proxy_image_on_hosts(fleet)
        home = project / ".home"
        home.mkdir(exist_ok=True)
        binary = kamal_binary()
        assert binary is not None
        real = _in_local_node(
            fleet_control,
            fleet,
            project,
            "env",
            f"HOME={home}",
            "SSH_AUTH_SOCK=",
            binary,
            "deploy",
            "-P",
            "--version",
            "l1",
        )
        assert real.returncode == 0, real.stdout[-3000:] + real.stderr[-3000:]
        hosts = ", ".join(h.ip for h in fleet.hosts)
        assert f"Setting up local registry port forwarding to {hosts}..." in real.stdout
        assert "docker pull localhost:5555/demo:l1" in real.stdout
        assert version_of(fleet.hosts[0].ip) == "l1"
        assert all(_listening(fleet_control, f"h{i}") == "" for i in range(1, len(fleet.hosts) + 1))
    finally:
        remove = _in_local_node(fleet_control, fleet, project, cli, "registry", "remove", "--yes")
    assert remove.returncode == 0, remove.stdout + remove.stderr
    assert _registry_container(fleet) == []
    # a second remove finds no container: ignored, as Kamal ignores it (exit 0)
    again = _in_local_node(fleet_control, fleet, project, cli, "registry", "remove", "--yes", "-v")
    assert again.returncode == 0 and "no kamal-docker-registry container to remove" in again.stdout, again.stdout


def test_a_remote_builder_pushes_to_the_local_registry_through_a_forward_too(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    """builder.remote on h3 with a local registry: h3's engine builds and pushes to `localhost:5555`
    on its own loopback, forwarded to this machine's registry; the hosts pull through forwards."""
    fleet_control.reset_hosts()
    local = _client(fleet.local_docker_socket)
    try:
        provide_registry_image(local)
        for tag in ("l1", "latest"):  # an earlier test built these here
            if f"localhost:5555/demo:{tag}" in {t for i in local.images.list() for t in i.tags}:
                local.images.remove(f"localhost:5555/demo:{tag}")
    finally:
        local.close()
    _proxy_image_on_hosts(fleet)
    builder = fleet.hosts[2]
    base = _client(builder.docker_socket)  # its BuildKit finds the FROM image in its store (see test_remote_builder)
    try:
        auth = {"username": fleet.registry_user, "password": fleet.registry_password}
        base.images.pull(f"{fleet.registry}/base/busybox", tag="latest", auth_config=auth)
    finally:
        base.close()
    project = _project(tmp_path / "app", fleet, remote=f"ssh://root@{builder.ip}")
    cli = str(Path(sys.executable).parent / "kamal-nb")
    try:
        deploy = _in_local_node(fleet_control, fleet, project, cli, "deploy", "--version", "l1", "--yes", "-v")
        assert deploy.returncode == 0, deploy.stdout[-3000:] + deploy.stderr[-3000:]
        assert f"remote engine ssh://root@{builder.ip}" in deploy.stdout
        assert _registry_container(fleet) == ["running"]  # the deploy started it, as Kamal's does
        for host in fleet.hosts[:2]:
            assert version_of(host.ip) == "l1"
        local = _client(fleet.local_docker_socket)
        try:  # built on h3, not here: the local engine only runs the registry
            assert "localhost:5555/demo:l1" not in {t for i in local.images.list() for t in i.tags}
        finally:
            local.close()
        for index in range(1, len(fleet.hosts) + 1):
            assert _listening(fleet_control, f"h{index}") == ""
    finally:
        _in_local_node(fleet_control, fleet, project, cli, "registry", "remove", "--yes")
    assert _registry_container(fleet) == []


def test_real_kamal_with_the_same_config(fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path) -> None:
    """What the real Kamal 2.11 does with this config here, run the same way: it checks for the
    docker buildx plugin before anything else, which this machine does not have."""
    binary = kamal_binary()
    assert binary is not None
    project = _project(tmp_path / "app", fleet)
    home = project / ".home"
    home.mkdir(exist_ok=True)
    env = {"HOME": str(home), "SSH_AUTH_SOCK": ""}
    for argv in (("registry", "setup"), ("deploy", "--version", "l1")):
        done = subprocess.run(
            ["env", *(f"{k}={v}" for k, v in env.items()), binary, *argv],
            cwd=project,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        said = done.stdout + done.stderr
        assert done.returncode != 0, said
        assert "Docker buildx plugin is not installed locally" in said, said[-2000:]
    assert _registry_container(fleet) == []  # it ran nothing on the engine


def test_pulls_without_the_local_registry_running_say_so_and_leave_no_listener(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    fleet_control.reset_hosts()
    _proxy_image_on_hosts(fleet)
    project = _project(tmp_path / "app", fleet)
    cli = str(Path(sys.executable).parent / "kamal-nb")
    _in_local_node(fleet_control, fleet, project, cli, "registry", "remove", "--yes")
    assert _registry_container(fleet) == []
    done = _in_local_node(fleet_control, fleet, project, cli, "deploy", "-P", "--version", "l1", "--yes", "-v")
    said = done.stdout + done.stderr
    assert done.returncode != 0, said
    assert f"The hosts' pulls reached no local registry: 127.0.0.1:{PORT} on this machine" in said, said[-3000:]
    assert "Start it with `kamal registry setup`" in said
    for index in range(1, len(fleet.hosts) + 1):
        assert _listening(fleet_control, f"h{index}") == ""
