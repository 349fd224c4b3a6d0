"""`registry setup|remove` and the build with a local registry (`server: localhost:5555`), as planned."""

from __future__ import annotations

from pathlib import Path

from tests.unit.test_ops_plans import WEB, commands, plan, project

LOCAL = {"server": "localhost:5555"}


def test_registry_setup_starts_kamals_registry_container_here_and_nothing_on_hosts(tmp_path: Path) -> None:
    p = plan(project(tmp_path, registry=LOCAL), ("registry", "setup"))
    assert commands(p, "local") == [
        "docker --version",
        "docker start kamal-docker-registry || docker run --detach -p 127.0.0.1:5555:5000 "
        "--name kamal-docker-registry registry:3",
    ]
    assert commands(p, WEB) == []


def test_registry_remove_stops_and_removes_it_and_a_missing_container_is_fine(tmp_path: Path) -> None:
    p = plan(project(tmp_path, registry=LOCAL), ("registry", "remove"))
    assert commands(p, "local") == ["docker stop kamal-docker-registry && docker rm kamal-docker-registry"]
    assert commands(p, WEB) == []


def test_registry_setup_with_a_remote_registry_logs_in_here_and_on_every_host(tmp_path: Path) -> None:
    p = plan(project(tmp_path), ("registry", "setup"))
    assert any(c.startswith("docker login 10.99.0.1:5000") for c in commands(p, WEB))
    assert p.operation == "registry setup"


def test_a_build_for_a_local_registry_is_no_longer_refused_and_pulls_need_no_login(tmp_path: Path) -> None:
    p = plan(project(tmp_path, registry=LOCAL), ("build", "deliver"), version="v2")
    shown = str(p)
    assert "refused" not in shown
    assert "docker pull localhost:5555/demo:v2" in commands(p, WEB)
    assert not any("docker login" in c for c in commands(p, WEB))
    assert commands(p, "local")[0].startswith("docker start kamal-docker-registry || docker run")
    assert "forward port 5555 of each app host to 127.0.0.1:5555 here" in commands(p, "local")
