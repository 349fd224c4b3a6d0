"""The demo app's Kamal project: config/deploy.yml, .kamal/secrets, a git repository.

The same project is deployed on the real test fleet (kamal_nb.testing.project) and on the sandbox
fleet, so that both leave the same state; it lives here, below both, because the sandbox may not
import kamal_nb.testing. ``fleet`` is anything with the test fleet's registry, SSH and host addresses
(kamal_nb.testing.fleet.FleetInfo, or the sandbox's own stand-in).
"""

from __future__ import annotations

import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Protocol

import yaml


class DemoHost(Protocol):
    @property
    def ip(self) -> str: ...


class DemoFleet(Protocol):
    """What the demo project needs to know of a fleet."""

    @property
    def hosts(self) -> Sequence[DemoHost]: ...
    @property
    def registry(self) -> str: ...
    @property
    def registry_user(self) -> str: ...
    @property
    def registry_password(self) -> str: ...
    @property
    def ssh_user(self) -> str: ...
    @property
    def ssh_key(self) -> str: ...
    @property
    def ssh_config(self) -> str: ...


APP_SECRET = "demo-secret-value-9f8e7d"


def deploy_config(fleet: DemoFleet, **overrides: object) -> dict[str, object]:
    """deploy.yml for the demo app: two web hosts behind the proxy stand-in, one jobs host."""
    web, jobs = [h.ip for h in fleet.hosts[:2]], [h.ip for h in fleet.hosts[2:3]]
    config: dict[str, object] = {
        "service": "demo",
        "image": "demo",
        "servers": {"web": web, **({"jobs": {"hosts": jobs, "cmd": "/bin/sh /jobs.sh"}} if jobs else {})},
        "registry": {
            "server": fleet.registry,
            "username": fleet.registry_user,
            "password": ["KAMAL_REGISTRY_PASSWORD"],
        },
        "env": {"clear": {"APP_ENV": "production"}, "secret": ["DEMO_SECRET"]},
        "builder": {"arch": "amd64"},
        "ssh": {"user": fleet.ssh_user, "keys": [fleet.ssh_key], "keys_only": True, "config": fleet.ssh_config},
        "proxy": {
            "app_port": 3000,
            "healthcheck": {"path": "/up", "interval": 1},
            "run": {"registry": fleet.registry, "repository": "basecamp/kamal-proxy", "version": "v0.9.2"},
        },
        # Kamal waits this long for roles without a proxy (the jobs role); 7 s by default
        "readiness_delay": 0,
        "drain_timeout": 1,
        # an unhealthy version is given up after 10 s, not Kamal's default 30 (tests wait for it)
        "deploy_timeout": 10,
    }
    config.update(overrides)
    return config


def write_project(
    directory: Path,
    fleet: DemoFleet,
    config: Mapping[str, object] | None = None,
    secrets: Mapping[str, str] | None = None,
) -> Path:
    """A project directory (a git repository, as Kamal expects) with config/deploy.yml and secrets."""
    (directory / "config").mkdir(parents=True, exist_ok=True)
    (directory / ".kamal").mkdir(exist_ok=True)
    (directory / "config" / "deploy.yml").write_text(yaml.safe_dump(dict(config or deploy_config(fleet))))
    values = {"KAMAL_REGISTRY_PASSWORD": fleet.registry_password, "DEMO_SECRET": APP_SECRET, **(secrets or {})}
    (directory / ".kamal" / "secrets").write_text("".join(f"{k}={v}\n" for k, v in values.items()))
    if not (directory / ".git").exists():
        git = ["git", "-c", "user.name=Test Operator", "-c", "user.email=operator@example.test"]
        subprocess.run(["git", "init", "-q", str(directory)], check=True)
        subprocess.run(["git", "-C", str(directory), "config", "user.name", "Test Operator"], check=True)
        subprocess.run(["git", "-C", str(directory), "config", "user.email", "operator@example.test"], check=True)
        subprocess.run([*git, "-C", str(directory), "add", "-A"], check=True)
        subprocess.run([*git, "-C", str(directory), "commit", "-qm", "app"], check=True)
    return directory
