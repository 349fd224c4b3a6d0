"""Create a sandbox fleet: host directories, the docker shim, a registry holding the demo images, and
the demo Kamal project pointed at it (the same deploy.yml shape as the real test fleet's).

    info = create_sandbox("/tmp/sandbox", hosts=3)
    info.project          # /tmp/sandbox/project: config/deploy.yml, .kamal/secrets (a git repository)

Hosts are named like the real fleet's (10.200.0.11, 10.200.0.12, …) so the same notebooks read the
same on both; the registry answers at 10.200.0.1:5000 with the test fleet's user and password.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kamal_nb.sandbox import demo_project
from kamal_nb.sandbox.layout import (
    EMPTY_ENGINE,
    Layout,
    SandboxError,
    down_marker,
    engine_file,
    host_meta_file,
    registry_file,
    write_json,
)

DEFAULT_SUBNET = "10.200.0"
REGISTRY_USER = "testuser"
REGISTRY_PASSWORD = "testpass"  # a throwaway credential of a registry that exists only as a JSON file
DEMO_SECRET = "demo-secret-value-9f8e7d"
# fixed creation times, so image ids and `docker image ls` are the same on every run
_EPOCH = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z

WEB_SH = """#!/bin/sh
awk 'BEGIN { for (name in ENVIRON) print name }' | sort > /www/env
trap 'exit 0' TERM INT
/bin/busybox httpd -f -p 3000 -h /www &
wait
"""
JOBS_SH = """#!/bin/sh
echo "jobs started version=$APP_VERSION"
trap 'echo "jobs stopping"; exit 0' TERM INT
while :; do sleep 5 & wait $!; done
"""


@dataclass(frozen=True)
class SandboxInfo:
    root: Path
    hosts: tuple[str, ...]
    registry: str
    registry_user: str
    registry_password: str
    project: Path

    @property
    def deploy_yml(self) -> Path:
        return self.project / "config" / "deploy.yml"


def _manifest(body: dict[str, Any]) -> dict[str, Any]:
    payload = json.dumps(body, sort_keys=True).encode()
    return {
        **body,
        "id": "sha256:" + hashlib.sha256(payload).hexdigest(),
        "digest": "sha256:" + hashlib.sha256(b"m" + payload).hexdigest(),
    }


def app_manifest(
    version: str, *, service: str | None = "demo", healthy: bool = True, created: int = _EPOCH
) -> dict[str, Any]:
    """The test fleet's demo app (busybox httpd on :3000 serving /up, /version; a jobs role)."""
    files = {
        "/www/version": f"{version}\n",
        "/www/index.html": f"app version {version}\n",
        "/web.sh": WEB_SH,
        "/jobs.sh": JOBS_SH,
    }
    if healthy:
        files["/www/up"] = "ok\n"
    return _manifest(
        {
            "labels": {"service": service} if service else {},
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", f"APP_VERSION={version}"],
            "exposed": ["3000/tcp"],
            "cmd": ["/bin/sh", "/web.sh"],
            "entrypoint": [],
            "files": files,
            "http": {"port": 3000, "root": "/www"},
            "programs": {
                "/bin/sh /jobs.sh": {"start": ["jobs started version=${APP_VERSION}"], "stop": ["jobs stopping"]}
            },
            "size": 4_261_000 + len(version),
            "architecture": "amd64",
            "created": created,
        }
    )


def proxy_manifest(created: int = _EPOCH) -> dict[str, Any]:
    """The kamal-proxy stand-in image of the test fleet."""
    return _manifest(
        {
            "labels": {
                "org.opencontainers.image.title": "kamal-proxy",
                "org.opencontainers.image.description": "kamal-proxy stand-in (busybox sh + nc), not the real kamal-proxy",
            },
            "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "exposed": ["443/tcp", "80/tcp"],
            "cmd": ["kamal-proxy", "run"],
            "entrypoint": [],
            "files": {},
            "proxy": True,
            "size": 4_270_000,
            "architecture": "amd64",
            "created": created,
        }
    )


DOCKERFILE = """# The demo app for the sandbox fleet. RUN lines never run in the sandbox; `# sandbox-file PATH TEXT`
# adds a file the sandbox's demo web server serves (the docker emulator reads these comments).
FROM {registry}/base/sandbox-app:1
ARG VERSION=dev
ENV APP_VERSION=$VERSION
# sandbox-file /www/version ${{VERSION}}\\n
# sandbox-file /www/index.html app version ${{VERSION}}\\n
EXPOSE 3000
LABEL service=demo
CMD ["/bin/sh", "/web.sh"]
"""


# imported, not run as __main__: the module's compiled form is cached, so each docker call starts fast
_SHIM_CODE = "import sys; from kamal_nb.sandbox.docker_emulator import main; sys.exit(main())"


def _shim(python: str) -> str:
    package_parent = Path(__file__).resolve().parent.parent.parent
    return (
        "#!/bin/sh\n"
        "# docker on a kamal_nb sandbox host: the emulator, run by the Python that created the sandbox\n"
        f"PYTHONPATH='{package_parent}'${{PYTHONPATH:+:$PYTHONPATH}} exec '{python}' -c '{_SHIM_CODE}' \"$@\"\n"
    )


def _make_host(layout: Layout, host: str, directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    write_json(host_meta_file(directory), {"name": host, "root": str(layout.root)})
    if not engine_file(directory).exists():
        write_json(engine_file(directory), json.loads(json.dumps(EMPTY_ENGINE)))


def demo_images(registry: str) -> dict[str, dict[str, Any]]:
    day = 86_400 * 1_000_000_000
    return {
        f"{registry}/demo:v1": app_manifest("v1", created=_EPOCH),
        f"{registry}/demo:v2": app_manifest("v2", created=_EPOCH + day),
        f"{registry}/demo:unhealthy": app_manifest("unhealthy", healthy=False, created=_EPOCH + 2 * day),
        f"{registry}/base/sandbox-app:1": app_manifest("dev", service=None, created=_EPOCH - day),
        f"{registry}/basecamp/kamal-proxy:v0.9.2": proxy_manifest(),
    }


def create_sandbox(
    root: Path | str,
    *,
    hosts: int = 3,
    subnet: str = DEFAULT_SUBNET,
    project: bool = True,
    force: bool = False,
    python: str | None = None,
) -> SandboxInfo:
    """A fresh sandbox fleet at ``root`` (``force`` replaces an existing one)."""
    layout = Layout(root)
    if layout.exists():
        if not force:
            raise SandboxError(f"a sandbox fleet exists at {layout.root} already (force=True replaces it)")
        shutil.rmtree(layout.root)
    if hosts < 1:
        raise SandboxError("a sandbox fleet needs at least one host")
    names = tuple(f"{subnet}.{10 + i}" for i in range(1, hosts + 1))
    registry = f"{subnet}.1:5000"
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.bin_dir.mkdir(exist_ok=True)
    shim = layout.bin_dir / "docker"
    shim.write_text(_shim(python or sys.executable))
    shim.chmod(0o755)
    for name in names:
        _make_host(layout, name, layout.host_dir(name))
    _make_host(layout, "local", layout.local_dir)
    write_json(
        registry_file(layout.root),
        {"server": registry, "users": {REGISTRY_USER: REGISTRY_PASSWORD}, "images": demo_images(registry)},
    )
    info = SandboxInfo(layout.root, names, registry, REGISTRY_USER, REGISTRY_PASSWORD, layout.project_dir)
    if project:
        write_demo_project(info)
    write_json(
        layout.config_file,
        {
            "version": 1,
            "hosts": list(names),
            "registry": registry,
            "project": str(layout.project_dir) if project else None,
        },
    )
    return info


def load_sandbox(root: Path | str) -> SandboxInfo:
    layout = Layout(root)
    config = layout.config()
    registry = str(config["registry"])
    return SandboxInfo(
        layout.root, tuple(config["hosts"]), registry, REGISTRY_USER, REGISTRY_PASSWORD, layout.project_dir
    )


@dataclass(frozen=True)
class _Host:
    ip: str


@dataclass(frozen=True)
class _DemoFleet:
    """The sandbox seen as the demo project sees a fleet (kamal_nb.sandbox.demo_project.DemoFleet)."""

    hosts: tuple[_Host, ...]
    registry: str
    registry_user: str
    registry_password: str
    ssh_user: str = "root"
    ssh_key: str = ""
    ssh_config: str = ""


def _demo_fleet(info: SandboxInfo) -> _DemoFleet:
    hosts = tuple(_Host(host) for host in info.hosts)
    return _DemoFleet(hosts, info.registry, info.registry_user, info.registry_password)


def deploy_config(info: SandboxInfo) -> dict[str, object]:
    """The demo deploy.yml the test fleet deploys (kamal_nb.sandbox.demo_project), aimed at the sandbox hosts."""
    config = demo_project.deploy_config(_demo_fleet(info))
    config.pop("ssh", None)  # no SSH in the sandbox: the backend runs commands locally
    return config


def write_demo_project(info: SandboxInfo) -> Path:
    info.project.mkdir(parents=True, exist_ok=True)
    (info.project / "Dockerfile").write_text(DOCKERFILE.format(registry=info.registry))
    demo_project.write_project(info.project, _demo_fleet(info), deploy_config(info), {"DEMO_SECRET": DEMO_SECRET})
    return info.project


def set_host_down(root: Path | str, host: str, down: bool = True) -> None:
    """Make a host unreachable (or reachable again): the demo of a failing host."""
    layout = Layout(root)
    marker = down_marker(layout.host_dir(host))
    if not host_meta_file(layout.host_dir(host)).exists():
        raise SandboxError(f"no host {host} in the sandbox fleet at {layout.root}")
    if down:
        marker.touch()
    else:
        marker.unlink(missing_ok=True)
