"""The loaded Config: destination merge, ERB environment, version rules, derived values, immutability."""

from __future__ import annotations

import dataclasses
import subprocess
from pathlib import Path

import pytest

from kamal_nb.config import Config, ConfigError, load_config

BASE = """service: app
image: dhh/app
registry:
  username: dhh
  password: [KAMAL_REGISTRY_PASSWORD]
servers:
  web: [1.1.1.1, {1.1.1.2: [replica]}]
  workers:
    hosts: [1.1.1.3]
    cmd: bin/jobs
builder:
  arch: amd64
env:
  clear: {A: root}
  secret: [ROOT_SECRET]
  tags:
    replica:
      clear: {A: replica}
      secret: ["DB:REPLICA_DB"]
proxy:
  host: app.example.com
  app_port: 3000
"""
SECRETS = "KAMAL_REGISTRY_PASSWORD=reg\nROOT_SECRET=root-secret\nREPLICA_DB=replica-db\n"
ENV = {"PATH": "/usr/bin:/bin"}


def project(tmp_path: Path, deploy: str = BASE) -> Path:
    (tmp_path / "config").mkdir(exist_ok=True)
    (tmp_path / "config" / "deploy.yml").write_text(deploy)
    (tmp_path / ".kamal").mkdir(exist_ok=True)
    (tmp_path / ".kamal" / "secrets").write_text(SECRETS)
    return tmp_path


def load(root: Path, **kwargs: object) -> Config:
    return load_config(root=root, env=ENV, **kwargs)  # type: ignore[arg-type]


def test_derived_names(tmp_path: Path) -> None:
    config = load(project(tmp_path), version="999")
    assert config.role_names == ("web", "workers")
    assert config.primary_role is not None and config.primary_role.name == "web"
    assert config.primary_host == "1.1.1.1"
    assert config.all_hosts == ("1.1.1.1", "1.1.1.2", "1.1.1.3")
    assert config.repository == "dhh/app"
    assert config.absolute_image == "dhh/app:999"
    assert config.latest_image == "dhh/app:latest"
    assert config.service_with_version == "app-999"
    assert config.proxy_hosts == ("1.1.1.1", "1.1.1.2")
    web = config.role("web")
    assert web is not None and web.container_name("999") == "app-web-999"
    assert web.labels == {"service": "app", "role": "web", "destination": None}
    assert web.proxy is not None and web.proxy.hosts == ("app.example.com",) and web.proxy.app_port == 3000
    workers = config.role("workers")
    assert workers is not None and not workers.running_proxy and workers.stop_timeout_seconds == 30


def test_env_merges_tags_per_host_and_keeps_secrets_redacted(tmp_path: Path) -> None:
    config = load(project(tmp_path), version="1")
    assert config.role_env("web", "1.1.1.1").clear == {"A": "root"}
    replica = config.role_env("web", "1.1.1.2")
    assert replica.clear == {"A": "replica"}
    assert replica.secret_names == {"ROOT_SECRET": "ROOT_SECRET", "DB": "REPLICA_DB"}
    secrets = config.role_secret_env("web", "1.1.1.2")
    assert str(secrets["DB"]) == "[REDACTED]" and secrets["DB"].reveal() == "replica-db"


def test_destination_deep_merges_hashes_and_replaces_arrays(tmp_path: Path) -> None:
    root = project(tmp_path)
    staging = "servers:\n  web: [2.2.2.2]\nenv:\n  clear: {B: <%= ENV['KAMAL_DESTINATION'] %>}\n"
    (root / "config" / "deploy.staging.yml").write_text(staging)
    (root / ".kamal" / "secrets.staging").write_text(SECRETS)
    config = load(root, destination="staging", version="1")
    web, workers = config.role("web"), config.role("workers")
    assert web is not None and web.hosts == ("2.2.2.2",)  # array replaced
    assert workers is not None and workers.hosts == ("1.1.1.3",)  # hash merged
    assert config.env.clear == {"A": "root", "B": "staging"}  # KAMAL_DESTINATION set before ERB
    assert config.latest_image == "dhh/app:latest-staging"
    assert web.container_prefix == "app-web-staging"
    assert config.service_and_destination == "app-staging"


def test_require_destination(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="You must specify a destination"):
        load(project(tmp_path, BASE + "require_destination: true\n"), version="1")


def test_config_is_immutable(tmp_path: Path) -> None:
    config = load(project(tmp_path), version="1")
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.service = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        config.labels["x"] = "y"  # type: ignore[index]
    web = config.role("web")
    assert web is not None and isinstance(web.hosts, tuple)
    with pytest.raises(TypeError):
        config.raw["service"] = "x"  # type: ignore[index]


def _git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout.strip()


def test_version_order_and_uncommitted_rule(tmp_path: Path) -> None:
    root = project(tmp_path)
    _git(root, "init", "-q")
    _git(root, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-m", "x")
    head = _git(root, "rev-parse", "HEAD")
    assert load(root).version == head  # dirty tree, but builds from a clean clone: no suffix
    with_context = project(tmp_path, BASE.replace("  arch: amd64\n", "  arch: amd64\n  context: .\n"))
    version = load(with_context).version
    assert version.startswith(f"{head}_uncommitted_") and len(version) == len(head) + 13 + 16
    assert load_config(root=root, env={**ENV, "VERSION": "from-env"}).version == "from-env"
    assert load_config(root=root, env={**ENV, "VERSION": "from-env"}, version="cli").version == "cli"


def test_no_git_and_no_version(tmp_path: Path) -> None:
    config = load(project(tmp_path))
    with pytest.raises(ConfigError, match="Can't use commit hash as version, no git repository found"):
        _ = config.version


def test_kamal_1_config_gets_migration_hints(tmp_path: Path) -> None:
    kamal1 = BASE.replace("builder:\n  arch: amd64\n", "").replace("proxy:", "traefik:")
    with pytest.raises(ConfigError) as raised:
        load(project(tmp_path, kamal1), version="1")
    text = str(raised.value)
    assert "unknown key: traefik" in text
    assert "hint: `traefik:` is Kamal 1" in text and "builder: { arch: amd64 }" in text
