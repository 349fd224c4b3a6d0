"""`deploy` without -P: the image is built with the Docker SDK on the fleet's build engine, pushed
with `:version` and `:latest`, pulled with the service-label check, and deployed."""

from __future__ import annotations

import os
import urllib.request
from pathlib import Path

import pytest

from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing import images
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.project import deploy_config, write_project

pytestmark = pytest.mark.fleet

APP = Path(images.__file__).parent / "app"


def test_deploy_builds_pushes_and_serves_the_new_version(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    fleet_control.reset_hosts()
    builder = {
        "arch": "amd64",
        "context": str(APP),
        "dockerfile": str(APP / "Dockerfile"),
        "args": {"BASE_IMAGE": f"{fleet.registry}/base/busybox:latest", "VERSION": "b7", "SERVICE": "demo"},
    }
    project = write_project(tmp_path, fleet, deploy_config(fleet, builder=builder))
    session = Session(root=project, env={**os.environ, "DOCKER_HOST": fleet.local_docker_socket})
    try:
        plan = catalog.perform(session.context(GlobalOptions(version="b7")), ("build", "push"), {})
        assert isinstance(plan, Plan) and "docker buildx build" in str(plan)
        result = catalog.perform(session.context(GlobalOptions(version="b7")), ("setup",), {}, yes=True)
        assert isinstance(result, OperationResult) and result.ok, str(result)
    finally:
        session.close()
    with urllib.request.urlopen(f"http://{fleet.hosts[0].ip}/version", timeout=5) as response:
        assert response.read().decode().strip() == "b7"
    import docker

    client = docker.DockerClient(base_url=fleet.hosts[0].docker_socket, timeout=30)
    try:
        image = client.images.get(f"{fleet.registry}/demo:b7")
        assert image.labels["service"] == "demo"
        assert f"{fleet.registry}/demo:latest" in image.tags
    finally:
        client.close()
