"""Multi-arch without buildx, on a fleet whose engines are all amd64.

- `arch: [amd64, arm64]`, locally or hybrid with builder.remote: no engine is arm64, so the build is
  refused in one line naming arm64 and the engine, before any hook, build or host command.
- The manifest list itself (kamal_nb.ops.build.multiarch.put_manifest_list) against the fleet's
  registry with its login: an amd64 image and a real arm64 image (COPY-only FROM scratch, so an
  amd64 engine builds it without running arm64 code) pushed as `<version>-<arch>`, then the list
  as `<version>` and `latest`; a host's engine pulls the amd64 image by default and the arm64 one
  when asked for linux/arm64. Nothing here builds arm64 code: that needs an arm64 engine.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=6 .venv/bin/pytest tests/fleet/test_remote_builder_multiarch.py`.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
import urllib.request
from base64 import b64encode
from pathlib import Path

import pytest

from kamal_nb.build_engine.registry_api import DOCKER_LIST
from kamal_nb.ops.build.engines import BuildEngine, EngineUnavailable
from kamal_nb.ops.build.multiarch import put_manifest_list
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import run
from tests.fleet.project import deploy_config, write_project

pytestmark = pytest.mark.fleet


@pytest.fixture(autouse=True)
def _own_run_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Operations that change hosts log to the test's directory, never to the user's state."""
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))


def _client(socket: str):  # type: ignore[no-untyped-def]
    import docker

    return docker.DockerClient(base_url=socket, timeout=120)


@pytest.mark.parametrize("remote", [False, True], ids=["local", "hybrid"])
def test_an_arch_without_an_engine_of_that_arch_is_refused_in_one_line(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path, remote: bool
) -> None:
    fleet_control.reset_hosts()
    builder: dict[str, object] = {"arch": ["amd64", "arm64"]}
    if remote:
        builder["remote"] = f"ssh://root@{fleet.hosts[2].ip}"
    project = write_project(tmp_path / "app", fleet, deploy_config(fleet, builder=builder))
    hook = project / ".kamal/hooks/pre-build"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text(f"#!/bin/sh\ntouch {tmp_path}/pre-build-ran\n")
    hook.chmod(0o755)
    session = Session(root=project, env={**os.environ, "DOCKER_HOST": fleet.local_docker_socket})
    try:
        with pytest.raises(EngineUnavailable) as raised:
            run(session, ("deploy",), version="m1")
    finally:
        session.close()
    message = str(raised.value)
    assert "\n" not in message and message.startswith("no engine to build arm64 on: the ")
    engine = f"remote engine ssh://root@{fleet.hosts[2].ip}" if remote else "local engine"
    assert f"{engine}" in message and "is amd64" in message
    assert not (tmp_path / "pre-build-ran").exists()
    for index in range(1, len(fleet.hosts) + 1):
        assert not (fleet_control.node_dir(f"h{index}") / "root/.kamal").exists()


def _copy_only(arch: str) -> io.BytesIO:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in (("Dockerfile", b"FROM scratch\nCOPY arch /arch\n"), ("arch", arch.encode())):
            entry = tarfile.TarInfo(name)
            entry.size = len(data)
            tar.addfile(entry, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def test_the_manifest_list_names_each_arch_and_each_host_pulls_its_own(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    fleet_control.reset_hosts()
    project = write_project(tmp_path / "app", fleet, deploy_config(fleet, builder={"arch": ["amd64", "arm64"]}))
    repository = f"{fleet.registry}/multi"
    auth = {"username": fleet.registry_user, "password": fleet.registry_password}
    local = _client(fleet.local_docker_socket)
    try:
        for arch in ("amd64", "arm64"):
            local.images.build(
                fileobj=_copy_only(arch), custom_context=True, tag=f"{repository}:m1-{arch}", platform=f"linux/{arch}"
            )
            assert local.images.get(f"{repository}:m1-{arch}").attrs["Architecture"] == arch
            for status in local.images.push(repository, tag=f"m1-{arch}", auth_config=auth, stream=True, decode=True):
                assert "error" not in status, status
        session = Session(root=project)
        try:
            ctx = session.context()
            engine = BuildEngine(fleet.local_docker_socket, "local engine", False, local, "amd64")
            put_manifest_list(ctx, engine, f"{repository}:m1", [f"{repository}:latest"], ["amd64", "arm64"])
        finally:
            session.close()
    finally:
        local.close()

    login = b64encode(f"{fleet.registry_user}:{fleet.registry_password}".encode()).decode()
    for tag in ("m1", "latest"):
        request = urllib.request.Request(
            f"http://{fleet.registry}/v2/multi/manifests/{tag}",
            headers={"Accept": DOCKER_LIST, "Authorization": f"Basic {login}"},
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            listed = json.loads(response.read())
        assert listed["mediaType"] == DOCKER_LIST
        assert [m["platform"]["architecture"] for m in listed["manifests"]] == ["amd64", "arm64"]

    host = _client(fleet.hosts[0].docker_socket)
    try:
        pulled = host.images.pull(repository, tag="m1", auth_config=auth)
        assert pulled.attrs["Architecture"] == "amd64"
        pulled = host.images.pull(repository, tag="m1", auth_config=auth, platform="linux/arm64")
        assert pulled.attrs["Architecture"] == "arm64"
    finally:
        host.close()
