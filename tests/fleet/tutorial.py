"""What the tutorial tests share: the system's images, a project, a clean slate, the hosts' state,
and the app and MySQL asked from outside (HTTP through kamal-proxy; a MariaDB client on the db host)."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import docker

from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.images.tutorial import TutorialImages, provide_tutorial_images
from kamal_nb.testing.tutorial import DATABASE, DB_SERVICE, REDIS_SERVICE

TOPS = (".kamal/apps", DB_SERVICE, REDIS_SERVICE, "backups")
DATA = (f"{DB_SERVICE}/data/", f"{REDIS_SERVICE}/data/")  # the services' own files: compared by name only


def images(fleet: FleetInfo) -> TutorialImages:
    return provide_tutorial_images(fleet)


def wipe(fleet_control: Fleet, fleet: FleetInfo) -> None:
    """Every host without containers, networks, volumes, ~/.kamal and the tutorial's directories;
    the images stay (pulling them again would only cost time)."""
    for host in fleet.hosts:
        client = docker.DockerClient(base_url=host.docker_socket, timeout=60)
        try:
            for container in client.containers.list(all=True):
                container.remove(force=True, v=True)
            client.volumes.prune()
            client.networks.prune()
        finally:
            client.close()
        home = fleet_control.node_dir(host.name) / "root"
        for top in (".kamal", ".docker", DB_SERVICE, REDIS_SERVICE, "backups"):
            shutil.rmtree(home / top, ignore_errors=True)


def files(home: Path) -> dict[str, tuple[str, str]]:
    """Each file and directory Kamal keeps on a host: its mode and a digest of its content."""
    found: dict[str, tuple[str, str]] = {}
    for top in TOPS:
        root = home / top
        if not root.exists():
            continue
        for path in sorted([root, *root.rglob("*")]):
            name = str(path.relative_to(home))
            if any(name.startswith(data) for data in DATA):
                continue
            digest = "dir" if path.is_dir() else hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            found[name] = (oct(path.stat().st_mode & 0o7777), digest)
    return found


def containers(socket: str, *, running: bool = False) -> list[dict[str, Any]]:
    """The host's containers (``running``: only those running; a boot leaves the container it replaced
    stopped, under a random name)."""
    client = docker.DockerClient(base_url=socket, timeout=30)
    try:
        found = []
        for container in client.containers.list(all=not running):
            attrs, host_config = container.attrs, container.attrs["HostConfig"]
            found.append(
                {
                    "name": container.name,
                    "status": container.status,
                    "labels": attrs["Config"]["Labels"],
                    "image": attrs["Config"]["Image"],
                    "cmd": attrs["Config"]["Cmd"],
                    "env": sorted(attrs["Config"]["Env"]),
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


def state(fleet_control: Fleet, fleet: FleetInfo, *, running: bool = False) -> dict[str, Any]:
    """What Kamal leaves on each host: containers with labels, env, mounts; files with modes."""
    return {
        host.name: {
            "containers": containers(host.docker_socket, running=running),
            "files": files(fleet_control.node_dir(host.name) / "root"),
        }
        for host in fleet.hosts
    }


def difference(one: dict[str, Any], other: dict[str, Any]) -> str:
    """The first lines where two states differ (for an assertion's message; no secret is in it
    that the test did not write itself)."""
    a, b = (
        json.dumps(one, indent=1, sort_keys=True).splitlines(),
        json.dumps(other, indent=1, sort_keys=True).splitlines(),
    )
    import difflib

    return "\n".join(list(difflib.unified_diff(a, b, lineterm="", n=2))[:60])


def get(ip: str, path: str = "/", timeout: float = 5) -> tuple[int, str]:
    """GET through kamal-proxy on ``ip``: the status and the body."""
    try:
        with urllib.request.urlopen(f"http://{ip}{path}", timeout=timeout) as response:
            return int(response.status), str(response.read().decode())
    except urllib.error.HTTPError as error:
        return int(error.code), str(error.read().decode())


def counters(ip: str) -> dict[str, int]:
    status, body = get(ip, "/counters")
    assert status == 200, body
    return dict(json.loads(body))


def wait_for(what: str, predicate: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f}s waiting for {what}"
        time.sleep(0.3)


def mysql(fleet: FleetInfo, password: str, query: str) -> tuple[int, str]:
    """Run ``query`` as root over TCP against the db accessory's published port, from a throwaway
    container on the db host: the exit status and what the client printed."""
    db_host = fleet.hosts[2]
    client = docker.DockerClient(base_url=db_host.docker_socket, timeout=60)
    try:
        container = client.containers.run(
            f"{fleet.registry}/mysql:8.0",
            ["mariadb", "-h", db_host.ip, "-uroot", "-N", "-B", DATABASE, "-e", query],
            environment={"MYSQL_PWD": password},
            detach=True,
        )
        try:
            status = container.wait(timeout=30)["StatusCode"]
            output = container.logs(stdout=True, stderr=True).decode()
        finally:
            container.remove(force=True)
        return int(status), output
    finally:
        client.close()
