"""Accessories on the real fleet: kamal_nb leaves what the real Kamal leaves (containers, labels,
files and modes, directories, env files, proxy routes, audit lines), operation for operation."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.engine.errors import Refused
from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import kamal_ok, run
from tests.fleet.project import APP_SECRET, deploy_config, real_kamal, write_project

pytestmark = pytest.mark.fleet

DB_PASSWORD = "db-pass-7c1e55"
SERVICES = ("demo-db", "demo-cache")
LOOP = "sh -c 'echo up; trap \"exit 0\" TERM; while :; do sleep 1; done'"
HTTPD = (
    "sh -c 'mkdir -p /www && echo ok > /www/up && httpd -p 80 -h /www; trap \"exit 0\" TERM; while :; do sleep 1; done'"
)


def accessories_config(fleet: FleetInfo) -> dict[str, object]:
    h1, _, h3 = fleet.host_ips
    busybox = f"{fleet.registry}/base/busybox:latest"
    return {
        "db": {
            "image": busybox,
            "host": h3,
            "port": 5433,
            "cmd": LOOP,
            "env": {"clear": {"DB_NAME": "demo"}, "secret": ["DB_PASSWORD"]},
            "files": [
                "config/db.conf.erb:/etc/db/db.conf",
                {"local": "config/plain.txt", "remote": "/etc/db/plain.txt", "mode": "0640"},
            ],
            "directories": ["data:/var/lib/db", {"local": "logs", "remote": "/var/log/db", "mode": "0750"}],
        },
        "cache": {
            "image": busybox,
            "host": h1,
            "cmd": HTTPD,
            "proxy": {"host": "cache.example.test", "app_port": 80, "healthcheck": {"path": "/up", "interval": 1}},
        },
    }


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app and both accessories, set up by the real Kamal."""
    fleet_control.reset_hosts()
    for host in fleet.hosts:  # accessory directories live in the home directory, beside .kamal
        for service in SERVICES:
            _rmtree(fleet_control.node_dir(host.name) / "root" / service)
    directory = tmp_path_factory.mktemp("accessories")
    (directory / "config").mkdir()
    (directory / "config" / "db.conf.erb").write_text(
        "name=<%= ENV['DB_NAME'] %>\npassword=<%= ENV['DB_PASSWORD'] %>\n"
    )
    (directory / "config" / "plain.txt").write_text("plain\n")
    config = deploy_config(fleet, accessories=accessories_config(fleet))
    write_project(directory, fleet, config, secrets={"DB_PASSWORD": DB_PASSWORD})
    kamal_ok(directory, "setup", "-P", "--version", "v1")
    return directory


def _rmtree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)


def perform(session: Session, path: tuple[str, ...], args: dict[str, object] | None = None) -> OperationResult:
    return run(session, path, args, version="v1")


# -- what is on the hosts --------------------------------------------------------------------------


def _home(fleet_control: Fleet, name: str) -> Path:
    return fleet_control.node_dir(name) / "root"


def _files(home: Path) -> dict[str, tuple[str, str]]:
    found: dict[str, tuple[str, str]] = {}
    for top in (*SERVICES, ".kamal/apps"):
        root = home / top
        if not root.exists():
            continue
        for path in sorted([root, *root.rglob("*")]):
            mode = oct(path.stat().st_mode & 0o7777)
            digest = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            found[str(path.relative_to(home))] = (mode, digest)
    return found


def _containers(socket: str) -> list[dict[str, Any]]:
    import docker

    client = docker.DockerClient(base_url=socket, timeout=30)
    try:
        found = []
        for container in client.containers.list(all=True):
            if container.name not in SERVICES:
                continue
            attrs = container.attrs
            host_config = attrs["HostConfig"]
            found.append(
                {
                    "name": container.name,
                    "status": container.status,
                    "labels": attrs["Config"]["Labels"],
                    "image": attrs["Config"]["Image"],
                    "cmd": attrs["Config"]["Cmd"],
                    "env": sorted(e for e in attrs["Config"]["Env"] if not e.startswith("PATH=")),
                    "binds": sorted(host_config.get("Binds") or []),
                    "restart": host_config["RestartPolicy"]["Name"],
                    "network": host_config["NetworkMode"],
                    "ports": host_config.get("PortBindings"),
                    "log": host_config["LogConfig"],
                }
            )
        return sorted(found, key=lambda c: str(c["name"]))
    finally:
        client.close()


def _routes(socket: str) -> list[str]:
    import docker

    client = docker.DockerClient(base_url=socket, timeout=30)
    try:
        proxy = client.containers.get("kamal-proxy")
        output = proxy.exec_run(["kamal-proxy", "list"]).output
        assert isinstance(output, bytes)
        lines = output.decode().splitlines()
        return sorted(line.split()[0] for line in lines[1:] if line.strip())
    finally:
        client.close()


def _audit_length(fleet_control: Fleet, fleet: FleetInfo) -> dict[str, int]:
    lengths = {}
    for host in fleet.hosts:
        log = _home(fleet_control, host.name) / ".kamal" / "demo-audit.log"
        lengths[host.name] = len(log.read_text().splitlines()) if log.exists() else 0
    return lengths


def _audit_since(fleet_control: Fleet, fleet: FleetInfo, before: dict[str, int]) -> dict[str, list[str]]:
    """The audit lines each host got since `before`, without their timestamps."""
    lines = {}
    for host in fleet.hosts:
        log = _home(fleet_control, host.name) / ".kamal" / "demo-audit.log"
        new = log.read_text().splitlines()[before[host.name] :] if log.exists() else []
        lines[host.name] = [line.split("] ", 1)[1] for line in new]
    return lines


def state(fleet_control: Fleet, fleet: FleetInfo) -> dict[str, Any]:
    return {
        host.name: {
            "files": _files(_home(fleet_control, host.name)),
            "containers": _containers(host.docker_socket),
            "routes": _routes(host.docker_socket) if host.name == "h1" else None,
        }
        for host in fleet.hosts
    }


class Recorded:
    """Run an operation and keep what it changed: the state after it, and its audit lines."""

    def __init__(self, fleet_control: Fleet, fleet: FleetInfo) -> None:
        self.fleet_control, self.fleet = fleet_control, fleet

    def __call__(self, run: Any) -> tuple[dict[str, Any], dict[str, list[str]]]:
        before = _audit_length(self.fleet_control, self.fleet)
        run()
        return state(self.fleet_control, self.fleet), _audit_since(self.fleet_control, self.fleet, before)


def _kamal(project: Path, *args: str) -> None:
    done = real_kamal(project, *args)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


# -- the tests ---------------------------------------------------------------------------------------


def test_boot_and_remove_leave_what_kamal_leaves(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    record = Recorded(fleet_control, fleet)
    kamal_removed, kamal_remove_audit = record(lambda: _kamal(project, "accessory", "remove", "all", "-y"))
    kamal_booted, kamal_boot_audit = record(lambda: _kamal(project, "accessory", "boot", "all"))
    assert kamal_booted["h3"]["containers"][0]["status"] == "running"
    assert "demo-cache" in kamal_booted["h1"]["routes"]

    removed, remove_audit = record(
        lambda: perform(session, ("accessory", "remove"), {"name": "all"}).raise_on_failure()
    )
    assert removed == kamal_removed
    assert remove_audit == kamal_remove_audit
    assert removed["h3"]["containers"] == [] and "demo-cache" not in removed["h1"]["routes"]
    # Kamal leaves the env files, and so does kamal_nb
    assert removed["h3"]["files"][".kamal/apps/demo/env/accessories/db.env"][0] == "0o600"

    booted, boot_audit = record(lambda: perform(session, ("accessory", "boot"), {"name": "all"}).raise_on_failure())
    assert booted == kamal_booted
    assert boot_audit == kamal_boot_audit
    h3 = _home(fleet_control, "h3")
    assert (h3 / "demo-db/etc/db/db.conf").read_text() == f"name=demo\npassword={DB_PASSWORD}\n"
    assert booted["h3"]["files"]["demo-db/etc/db/plain.txt"][0] == "0o640"
    assert booted["h3"]["files"]["demo-db/logs"][0] == "0o750"
    assert (h3 / ".kamal/apps/demo/env/accessories/db.env").read_text() == f"DB_PASSWORD={DB_PASSWORD}\n"


def test_boot_skips_hosts_with_a_container_and_plans_hide_secrets(session: Session, fleet: FleetInfo) -> None:
    again = perform(session, ("accessory", "boot"), {"name": "db"})
    assert again.ok
    assert again.messages == (f"Skipping booting `db` on {fleet.host_ips[2]}, a container already exists",)
    assert not any("docker run" in c.command for c in again.hosts[fleet.host_ips[2]].commands)
    plan = catalog.perform(session.context(), ("accessory", "boot"), {"name": "db"})
    assert isinstance(plan, Plan)
    text = str(plan) + repr(plan) + plan.df.to_csv()
    for secret in (DB_PASSWORD, APP_SECRET, fleet.registry_password):
        assert secret not in text and secret not in str(again) + repr(again)
    assert "upload .kamal/apps/demo/env/accessories/db.env (" in text and "mode 0600" in text


def test_stop_start_restart_and_reboot_as_kamal_does(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    record = Recorded(fleet_control, fleet)
    stopped, stop_audit = record(lambda: perform(session, ("accessory", "stop"), {"name": "cache"}).raise_on_failure())
    assert stopped["h1"]["containers"][0]["status"] == "exited"
    assert "demo-cache" not in stopped["h1"]["routes"]
    assert stop_audit["h1"] == ["[operator@example.test] Stopped cache accessory"]
    started, start_audit = record(
        lambda: perform(session, ("accessory", "start"), {"name": "cache"}).raise_on_failure()
    )
    assert started["h1"]["containers"][0]["status"] == "running" and "demo-cache" in started["h1"]["routes"]
    assert start_audit["h1"] == ["[operator@example.test] Started cache accessory"]
    kamal_restarted, kamal_restart_audit = record(lambda: _kamal(project, "accessory", "restart", "db"))
    restarted, restart_audit = record(
        lambda: perform(session, ("accessory", "restart"), {"name": "db"}).raise_on_failure()
    )
    assert restarted == kamal_restarted and restart_audit == kamal_restart_audit
    kamal_rebooted, kamal_reboot_audit = record(lambda: _kamal(project, "accessory", "reboot", "all"))
    rebooted, reboot_audit = record(
        lambda: perform(session, ("accessory", "reboot"), {"name": "all"}).raise_on_failure()
    )
    assert rebooted == kamal_rebooted and reboot_audit == kamal_reboot_audit


def test_exec_and_logs(session: Session, fleet: FleetInfo) -> None:
    h3 = fleet.host_ips[2]
    reused = perform(session, ("accessory", "exec"), {"name": "db", "cmd": ["cat", "/etc/db/db.conf"], "reuse": True})
    assert reused.ok and "name=demo" in reused.output(h3)
    fresh = perform(session, ("accessory", "exec"), {"name": "db", "cmd": "sh -c 'echo $DB_NAME'"})
    assert fresh.ok and fresh.output(h3).strip().endswith("demo")
    logs = perform(session, ("accessory", "logs"), {"name": "db", "lines": 5})
    assert logs.ok and "up" in logs.output(h3)
    cases: list[tuple[dict[str, object], str]] = [
        ({"name": "db", "cmd": "sh", "interactive": True}, "headless"),
        ({"name": "nope", "cmd": "ls"}, "No accessory by the name of 'nope' \\(options: cache and db\\)"),
    ]
    for args, message in cases:
        with pytest.raises(Refused, match=message):
            perform(session, ("accessory", "exec"), args)
    with pytest.raises(Refused, match="--follow"):
        perform(session, ("accessory", "logs"), {"name": "db", "follow": True})


def test_an_unknown_accessory_runs_nothing(session: Session) -> None:
    ctx = session.context()
    for operation in ("boot", "reboot", "start", "stop", "restart", "remove"):
        with pytest.raises(Refused, match="No accessory by the name of 'nope'"):
            catalog.perform(ctx, ("accessory", operation), {"name": "nope"}, yes=True)
    with pytest.raises(Refused, match="No accessory by the name of 'all'"):
        catalog.perform(ctx, ("accessory", "start"), {"name": "all"}, yes=True)
    assert session.context().runner.pool.opened == 0
