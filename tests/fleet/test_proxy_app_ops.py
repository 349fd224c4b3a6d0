"""Proxy and app lifecycle, registry login/logout, server bootstrap and remove on the real fleet,
beside the real Kamal: the same containers, routes, files and audit lines after each operation."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.engine.errors import Refused
from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import kamal_ok, run, set_up_with_kamal

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app set up by the real Kamal at v1: web on h1, h2 behind the proxy, jobs on h3."""
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("lifecycle"))


def perform(session: Session, path: tuple[str, ...], args: dict[str, object] | None = None) -> OperationResult:
    return run(session, path, args, version="v1")


def _docker(socket: str) -> Any:
    import docker

    return docker.DockerClient(base_url=socket, timeout=30)


def _host_state(fleet_control: Fleet, name: str, socket: str) -> dict[str, Any]:
    client = _docker(socket)
    try:
        containers = sorted(
            (c.name, c.status, c.labels.get("service", ""), c.labels.get("role", ""))
            for c in client.containers.list(all=True)
        )
        routes: list[tuple[str, str]] | None = None
        proxies = [c for c in client.containers.list() if c.name == "kamal-proxy"]
        if proxies:
            output = proxies[0].exec_run(["kamal-proxy", "list"]).output
            assert isinstance(output, bytes)
            rows = [line.split() for line in output.decode().splitlines()[1:] if line.strip()]
            routes = sorted((row[0], row[4]) for row in rows)
        images = sorted(tag.rsplit(":", 1)[0] for image in client.images.list() for tag in image.tags)
    finally:
        client.close()
    home = fleet_control.node_dir(name) / "root"
    kamal = home / ".kamal"
    files = sorted(
        str(p.relative_to(home)) for p in kamal.rglob("*") if "audit" not in p.name and "lock-" not in str(p)
    )
    docker_config = home / ".docker" / "config.json"
    auths = sorted(json.loads(docker_config.read_text()).get("auths", {})) if docker_config.exists() else []
    return {"containers": containers, "routes": routes, "files": files, "images": images, "auths": auths}


def _audit(fleet_control: Fleet, name: str) -> list[str]:
    log = fleet_control.node_dir(name) / "root" / ".kamal" / "demo-audit.log"
    return [line.split("] ", 1)[1] for line in log.read_text().splitlines()] if log.exists() else []


def record(fleet_control: Fleet, fleet: FleetInfo, run: Callable[[], object]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Run an operation; the state of every host after it, and the audit lines it added."""
    before = {h.name: len(_audit(fleet_control, h.name)) for h in fleet.hosts}
    run()
    states = {h.name: _host_state(fleet_control, h.name, h.docker_socket) for h in fleet.hosts}
    audits = {h.name: _audit(fleet_control, h.name)[before[h.name] :] for h in fleet.hosts}
    return states, audits


def test_app_stop_start_maintenance_live_askamal_ok(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    pairs: list[tuple[tuple[str, ...], tuple[str, ...], dict[str, object]]] = [
        (("app", "stop"), ("app", "stop"), {}),
        (("app", "start", "--version", "v1"), ("app", "start"), {}),
        (("app", "maintenance", "--message", "Back soon"), ("app", "maintenance"), {"message": "Back soon"}),
        (("app", "live"), ("app", "live"), {}),
    ]
    for kamal_args, path, args in pairs:
        kamal_state, kamal_audit = record(fleet_control, fleet, lambda a=kamal_args: kamal_ok(project, *a))  # type: ignore[misc]
        state, audit = record(
            fleet_control,
            fleet,
            lambda p=path, a=args: perform(session, p, a).raise_on_failure(),  # type: ignore[misc]
        )
        assert state == kamal_state, path
        assert audit == kamal_audit, path
        if path == ("app", "stop"):
            assert ("demo-web-v1", "exited", "demo", "web") in state["h1"]["containers"]
            assert state["h1"]["routes"] == [] and audit["h1"] == ["[operator@example.test] [web] Stopped app"]
        if path == ("app", "maintenance"):
            assert state["h2"]["routes"] == [("demo-web", "stopped")]
    assert _host_state(fleet_control, "h1", fleet.hosts[0].docker_socket)["routes"] == [("demo-web", "running")]


def test_proxy_reboot_stop_start_askamal_ok(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    hooks = project / ".kamal" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    calls = project / "hook-calls.txt"
    for name in ("pre-proxy-reboot", "post-proxy-reboot"):
        hook = hooks / name
        hook.write_text(f'#!/bin/sh\necho "{name} $KAMAL_HOSTS $KAMAL_COMMAND $KAMAL_SUBCOMMAND" >> {calls}\n')
        hook.chmod(0o755)
    try:
        kamal_state, kamal_audit = record(fleet_control, fleet, lambda: kamal_ok(project, "proxy", "reboot", "-y"))
        calls.unlink()
        state, audit = record(fleet_control, fleet, lambda: perform(session, ("proxy", "reboot")).raise_on_failure())
        assert state == kamal_state and audit == kamal_audit
        assert audit["h1"] == ["[operator@example.test] Rebooted proxy"] and audit["h3"] == []
        assert state["h1"]["routes"] == [("demo-web", "running")]  # routes survive in the config volume
        h1, h2, _ = fleet.host_ips
        assert calls.read_text().splitlines() == [
            f"pre-proxy-reboot {h1},{h2} proxy reboot",
            f"post-proxy-reboot {h1},{h2} proxy reboot",
        ]
        calls.unlink()
        rolling = perform(session, ("proxy", "reboot"), {"rolling": True}).raise_on_failure()
        assert calls.read_text().splitlines() == [
            f"pre-proxy-reboot {h1} proxy reboot",
            f"post-proxy-reboot {h1} proxy reboot",
            f"pre-proxy-reboot {h2} proxy reboot",
            f"post-proxy-reboot {h2} proxy reboot",
        ]
        assert rolling.ok
    finally:
        for name in ("pre-proxy-reboot", "post-proxy-reboot"):
            (hooks / name).unlink()
    for kamal_args, path in (
        (("proxy", "stop"), ("proxy", "stop")),
        (("proxy", "start"), ("proxy", "start")),
        (("proxy", "restart"), ("proxy", "restart")),
    ):
        kamal_state, kamal_audit = record(fleet_control, fleet, lambda a=kamal_args: kamal_ok(project, *a))  # type: ignore[misc]
        state, audit = record(fleet_control, fleet, lambda p=path: perform(session, p).raise_on_failure())  # type: ignore[misc]
        assert state == kamal_state and audit == kamal_audit, path
    assert perform(session, ("proxy", "logs"), {"lines": 3}).ok


def test_proxy_remove_keeps_the_proxy_while_apps_are_installed(session: Session, fleet: FleetInfo) -> None:
    result = perform(session, ("proxy", "remove"))
    assert result.ok
    assert result.messages == (
        "Not removing the proxy, as other apps are installed, ignore this check with kamal proxy remove --force",
    )
    assert [c.command for c in result.hosts[fleet.host_ips[0]].commands] == ["ls .kamal/apps | wc -l"]


def test_app_exec_logs_and_headless_refusals(session: Session, fleet: FleetInfo) -> None:
    h1, _, h3 = fleet.host_ips
    fresh = perform(session, ("app", "exec"), {"cmd": "cat /www/version", "env": {"EXTRA": "1"}})
    assert fresh.ok and fresh.output(h1).strip().endswith("v1") and fresh.output(h3).strip().endswith("v1")
    reused = perform(session, ("app", "exec"), {"cmd": ["cat", "/www/version"], "reuse": True})
    assert reused.ok and reused.output(h1).strip().endswith("v1")
    ctx = session.context()  # no --version: the version running on the primary host
    plain = catalog.perform(ctx, ("app", "exec"), {"cmd": "echo $KAMAL_VERSION", "reuse": True}, yes=True)
    assert isinstance(plain, OperationResult) and plain.ok and plain.data[h1]["exec:version"] == "v1"
    logs = perform(session, ("app", "logs"), {"lines": 5})
    assert logs.ok and "jobs started version=v1" in logs.output(h3)
    with pytest.raises(Refused, match="headless"):
        perform(session, ("app", "exec"), {"cmd": "sh", "interactive": True})
    with pytest.raises(Refused, match="Detach is not compatible with reuse"):
        perform(session, ("app", "exec"), {"cmd": "sh", "detach": True, "reuse": True})
    with pytest.raises(Refused, match="No command provided"):
        perform(session, ("app", "exec"), {})
    for path in (("app", "logs"), ("proxy", "logs")):
        with pytest.raises(Refused, match="--follow"):
            perform(session, path, {"follow": True})
    assert session.context().runner.pool.opened <= 3


def test_registry_logout_and_login_on_the_hosts(session: Session, fleet_control: Fleet, fleet: FleetInfo) -> None:
    def auths() -> list[list[str]]:
        return [_host_state(fleet_control, h.name, h.docker_socket)["auths"] for h in fleet.hosts]

    assert auths() == [[fleet.registry]] * 3
    plan = catalog.perform(session.context(), ("registry", "login"), {"skip_local": True})
    assert isinstance(plan, Plan) and fleet.registry_password not in str(plan) + repr(plan)
    assert perform(session, ("registry", "logout"), {"skip_local": True}).ok
    assert auths() == [[]] * 3
    login = perform(session, ("registry", "login"), {"skip_local": True})
    assert login.ok and auths() == [[fleet.registry]] * 3
    assert fleet.registry_password not in str(login) + repr(login) + login.df.to_csv()


def test_server_bootstrap_checks_docker_everywhere(session: Session, fleet: FleetInfo) -> None:
    result = perform(session, ("server", "bootstrap"))
    assert result.ok
    assert [c.command for c in result.hosts[fleet.host_ips[2]].commands] == ["docker -v"]


def test_remove_leaves_what_kamal_remove_leaves(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    state, audit = record(fleet_control, fleet, lambda: perform(session, ("remove",)).raise_on_failure())
    assert all(not s["containers"] for s in state.values()), state
    assert all(".kamal/apps/demo" not in s["files"] and not s["auths"] for s in state.values())
    kamal_ok(project, "setup", "-P", "--version", "v1")
    kamal_state, kamal_audit = record(fleet_control, fleet, lambda: kamal_ok(project, "remove", "-y"))
    assert state == kamal_state
    assert audit == kamal_audit
