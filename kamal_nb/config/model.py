"""The resolved, immutable configuration: Kamal's ``Kamal::Configuration`` as a frozen dataclass.

Everything the command builders need is here, with Kamal's defaults and derived values (primary
role, hosts, image names, per-role proxy and env). Build one with ``kamal_nb.config.load_config``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property

from kamal_nb.config.accessories import Accessory
from kamal_nb.config.boot import Boot, Output
from kamal_nb.config.builder import Builder
from kamal_nb.config.docker_logging import Logging
from kamal_nb.config.env import Env
from kamal_nb.config.frozen import Frozen
from kamal_nb.config.proxy import Proxy, ProxyRun
from kamal_nb.config.registry import Registry
from kamal_nb.config.roles import Role
from kamal_nb.config.secret_source import SecretsSource, SecretValue
from kamal_nb.config.ssh import Ssh, Sshkit
from kamal_nb.config.unquoted_tokens import check_version
from kamal_nb.config.version import abbreviated, resolve_version
from kamal_nb.ruby.values import ruby_to_s

HOOKS_OUTPUT_LEVELS = ("quiet", "verbose")


@dataclass(frozen=True)
class Config:
    # -- where it came from --------------------------------------------------------------------
    raw: Mapping[object, Frozen] = field(repr=False)  # the merged deploy.yml(s), frozen
    config_files: tuple[str, ...]
    destination: str | None
    declared_version: str | None
    # Project directory: git (for the version) and relative paths (hooks, secrets) resolve here.
    root: str
    environment: Mapping[str, str] = field(repr=False)
    secrets: SecretsSource = field(repr=False, compare=False)

    # -- sections ------------------------------------------------------------------------------
    service: str
    image: str
    labels: Mapping[str, str]
    volumes: tuple[str, ...]
    registry: Registry
    # Sorted by name, as Kamal sorts them (see roles_primary_first for operation order).
    roles: tuple[Role, ...]
    accessories: tuple[Accessory, ...]
    aliases: Mapping[str, str]
    boot: Boot
    builder: Builder
    env: Env
    env_tags: Mapping[str, Env]
    logging: Logging
    output: Output
    proxy: Proxy
    ssh: Ssh
    sshkit: Sshkit

    # -- root settings, with Kamal's defaults --------------------------------------------------
    asset_path: str | None
    hooks_path: str  # .kamal/hooks
    hooks_output: str | Mapping[str, str] | None  # "quiet"/"verbose", or per hook
    secrets_path: str  # .kamal/secrets
    error_pages_path: str | None
    require_destination: bool
    primary_role_name: str  # web
    allow_empty_roles: bool
    retain_containers: int  # 5
    minimum_version: str | None
    readiness_delay: int  # 7
    deploy_timeout: int  # 30
    drain_timeout: int  # 30
    stop_timeout: int | None
    # Accepted for compatibility but ignored, as by Kamal: everything lives under `.kamal`.
    run_directory_setting: str | None
    extensions: Mapping[str, Frozen]  # root `x-…` keys (YAML anchors)

    run_directory: str = ".kamal"

    # -- version -------------------------------------------------------------------------------

    @cached_property
    def version(self) -> str:
        """``--version``, else ``$VERSION``, else the git commit (resolved on first use)."""
        version = resolve_version(
            self.declared_version,
            self.environment,
            cwd=self.root,
            builds_from_working_tree=self.builder.context_set,
        )
        check_version(version)  # $VERSION may say anything: it goes into commands unquoted
        return version

    @property
    def abbreviated_version(self) -> str:
        return abbreviated(self.version)

    # -- names ---------------------------------------------------------------------------------

    @property
    def service_and_destination(self) -> str:
        return "-".join(p for p in (self.service, self.destination) if p is not None)

    @property
    def repository(self) -> str:
        return "/".join(p for p in (self.registry.server, self.image) if p is not None)

    @property
    def absolute_image(self) -> str:
        return f"{self.repository}:{self.version}"

    @property
    def latest_tag(self) -> str:
        return "-".join(["latest", *([self.destination] if self.destination else [])])

    @property
    def latest_image(self) -> str:
        return f"{self.repository}:{self.latest_tag}"

    @property
    def service_with_version(self) -> str:
        return f"{self.service}-{self.version}"

    @property
    def apps_directory(self) -> str:
        return os.path.join(self.run_directory, "apps")

    @property
    def app_directory(self) -> str:
        return os.path.join(self.apps_directory, self.service_and_destination)

    @property
    def env_directory(self) -> str:
        return os.path.join(self.app_directory, "env")

    @property
    def assets_directory(self) -> str:
        return os.path.join(self.app_directory, "assets")

    # -- roles and hosts -----------------------------------------------------------------------

    def role(self, name: str) -> Role | None:
        return next((role for role in self.roles if role.name == name), None)

    def accessory(self, name: str) -> Accessory | None:
        return next((acc for acc in self.accessories if acc.name == name), None)

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(role.name for role in self.roles)

    @property
    def primary_role(self) -> Role | None:
        return self.role(self.primary_role_name)

    @property
    def primary_host(self) -> str | None:
        role = self.primary_role
        return role.primary_host if role else None

    @property
    def roles_primary_first(self) -> tuple[Role, ...]:
        """The order Kamal runs roles in: the primary role first, the others sorted by name."""
        return tuple(sorted(self.roles, key=lambda role: not role.primary))

    @property
    def all_hosts(self) -> tuple[str, ...]:
        hosts = [host for role in self.roles for host in role.hosts]
        hosts += [host for accessory in self.accessories for host in accessory.hosts]
        return tuple(dict.fromkeys(hosts))

    @property
    def app_hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(host for role in self.roles for host in role.hosts))

    def host_roles(self, host: str) -> tuple[Role, ...]:
        return tuple(role for role in self.roles if host in role.hosts)

    def host_accessories(self, host: str) -> tuple[Accessory, ...]:
        return tuple(acc for acc in self.accessories if host in acc.hosts)

    @property
    def proxy_roles(self) -> tuple[Role, ...]:
        return tuple(role for role in self.roles if role.running_proxy)

    @property
    def proxy_role_names(self) -> tuple[str, ...]:
        return tuple(role.name for role in self.proxy_roles)

    @property
    def proxy_accessories(self) -> tuple[Accessory, ...]:
        return tuple(acc for acc in self.accessories if acc.running_proxy)

    @property
    def proxy_hosts(self) -> tuple[str, ...]:
        hosts = [h for r in self.proxy_roles for h in r.hosts] + [h for a in self.proxy_accessories for h in a.hosts]
        return tuple(dict.fromkeys(hosts))

    def proxy_runs(self, host: str) -> tuple[ProxyRun, ...]:
        proxies = [r.proxy for r in self.host_roles(host)] + [a.proxy for a in self.host_accessories(host)]
        return tuple(p.run for p in proxies if p is not None and p.run is not None)

    def proxy_run(self, host: str) -> ProxyRun | None:
        """The ``proxy.run`` settings for kamal-proxy on ``host`` (validated identical per host)."""
        runs = self.proxy_runs(host)
        return runs[0] if runs else None

    # -- env and secrets -----------------------------------------------------------------------

    def env_tag(self, name: str) -> Env | None:
        return self.env_tags.get(name)

    def role_env(self, role: Role | str, host: str) -> Env:
        resolved = role if isinstance(role, Role) else self.role(role)
        if resolved is None:
            raise KeyError(f"unknown role {role}")
        return resolved.env(host)

    def role_secret_env(self, role: Role | str, host: str) -> Mapping[str, SecretValue]:
        """The secret env for a role's container on a host, as redacted Secrets."""
        return self.role_env(role, host).secret_values(self.secrets)

    def ssh_key_data(self) -> tuple[str | SecretValue, ...] | None:
        """``ssh.key_data``: secrets by name; an entry that names no secret is an inline key
        (deprecated in Kamal, still honoured)."""
        names = self.ssh.key_data
        if names is None:
            return None
        resolved: list[str | SecretValue] = []
        for name in names:
            if self.secrets.is_present(name):
                resolved.append(self.secrets[name])
            else:
                resolved.append(name)
        return tuple(resolved)

    @property
    def referenced_secret_names(self) -> tuple[str, ...]:
        """Every secret the configuration refers to: env (root, tags, roles, accessories), registry
        credentials in array form, builder secrets and custom SSL certificates."""
        names: list[str] = []
        envs = [self.env, *self.env_tags.values(), *(e for r in self.roles for e in r.envs.values())]
        for env in [*envs, *(accessory.env for accessory in self.accessories)]:
            names.extend(env.secret_names.values())
        registries = [self.registry, *(a.registry for a in self.accessories if a.registry is not None)]
        for registry in registries:
            for setting in (registry.username_setting, registry.password_setting):
                if isinstance(setting, tuple) and setting:
                    names.append(ruby_to_s(setting[0]))
        names.extend(self.builder.secret_names)
        proxies = [r.proxy for r in self.roles] + [a.proxy for a in self.accessories]
        for proxy in proxies:
            if proxy is not None and proxy.custom_ssl_certificate:
                names += [proxy.certificate_pem_secret or "", proxy.private_key_pem_secret or ""]
        return tuple(dict.fromkeys(names))

    def check_secrets(self) -> None:
        """Look up every referenced secret now (Kamal only does when a command needs one): loads
        the secrets files, running their ``$(…)`` commands, and raises ConfigError naming the first
        missing secret and the files searched."""
        for name in self.referenced_secret_names:
            self.secrets[name]

    def hooks_output_for(self, hook: str) -> str | None:
        if isinstance(self.hooks_output, str) or self.hooks_output is None:
            return self.hooks_output
        return self.hooks_output.get(hook)
