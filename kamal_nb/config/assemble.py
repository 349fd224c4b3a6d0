"""Validate a raw (merged) configuration and build the Config, in ``Configuration#initialize`` order.

The order matters: when a config has several problems, Kamal reports the first one it meets, and
the conformance cases pin that. So sections are validated and built in exactly Kamal's sequence
(root, servers/roles, registry, accessories, aliases, boot, builder, env, logging, output, proxy,
ssh, sshkit), then the cross-section ``ensure_*`` checks run.
"""

from __future__ import annotations

import os
import platform
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from urllib.parse import urlsplit

from kamal_nb.config import schema
from kamal_nb.config.accessories import DEFAULT_NETWORK, Accessory, AccessoryPath
from kamal_nb.config.boot import Boot, Output
from kamal_nb.config.builder import Builder
from kamal_nb.config.docker_logging import Logging
from kamal_nb.config.env import Env
from kamal_nb.config.errors import ConfigError
from kamal_nb.config.frozen import (
    EMPTY,
    Frozen,
    as_map,
    as_seq,
    as_strings,
    freeze,
    freeze_mapping,
    host_entry_name,
    int_or,
    opt_int,
    opt_str,
    thaw,
)
from kamal_nb.config.model import HOOKS_OUTPUT_LEVELS, Config
from kamal_nb.config.proxy import Proxy
from kamal_nb.config.registry import Registry
from kamal_nb.config.role_spec import RoleSpec, tagged_hosts
from kamal_nb.config.roles import Role
from kamal_nb.config.secret_source import SecretsSource
from kamal_nb.config.shell_safety import check_config
from kamal_nb.config.ssh import Ssh, Sshkit
from kamal_nb.config.validation import (
    AccessoryValidator,
    AliasValidator,
    BuilderValidator,
    ConfigurationValidator,
    EnvValidator,
    ProxyValidator,
    RegistryValidator,
    RoleValidator,
    ServersValidator,
    ValidationError,
    Validator,
)
from kamal_nb.ruby.values import RubySymbol, is_blank, is_present, is_truthy, ruby_to_s
from kamal_nb.version import KAMAL_COMPAT_VERSION


@dataclass(frozen=True)
class Source:
    """Where a raw config came from, for the Config and for locating errors."""

    config_files: tuple[str, ...] = ()
    root: str = "."
    environment: Mapping[str, str] = field(default_factory=dict)


def build_config(
    raw: Mapping[object, object],
    *,
    secrets: SecretsSource,
    destination: str | None = None,
    version: str | None = None,
    source: Source | None = None,
) -> Config:
    """Validate ``raw`` as Kamal 2.12 does and build the Config; raises ValidationError."""
    source = source or Source()
    root = dict(raw)
    ConfigurationValidator(root, example=schema.ROOT, context="").validate()
    frozen_root = freeze_mapping(root)
    return _Assembly(frozen_root, secrets, destination, version, source).build()


class _Assembly:
    def __init__(
        self,
        raw: Mapping[object, Frozen],
        secrets: SecretsSource,
        destination: str | None,
        version: str | None,
        source: Source,
    ) -> None:
        self.raw = raw
        self.secrets = secrets
        self.destination = destination
        self.version = version
        self.source = source

    def get(self, key: str) -> Frozen:
        return self.raw.get(key)

    def mapping(self, key: str) -> Mapping[object, Frozen]:
        return freeze_mapping(self.raw.get(key))

    # -- the sequence ----------------------------------------------------------------------------

    def build(self) -> Config:
        service = ruby_to_s(self.get("service")) if self.get("service") is not None else ""
        registry_raw = self.mapping("registry")

        servers = self.get("servers")
        ServersValidator(_thaw(servers), example=schema.ROLE, context="servers").validate()
        role_names = self._role_names(servers)
        env_tags = self._env_tags()
        root_env_raw = self.mapping("env")
        root_logging = Logging(self.mapping("logging"))
        root_proxy_raw = self.get("proxy")
        specialized = [self._specialized_role(name, service) for name in role_names]

        RegistryValidator(_thaw(registry_raw), example=schema.REGISTRY, context="registry").validate()
        registry = _registry(registry_raw)

        image = self._image(service, registry)
        accessories_raw = self.mapping("accessories")
        # Accessories may point at roles by name, and at host tags in the list form of roles.
        role_hosts = {spec.name: spec.hosts for spec in specialized}
        accessories = tuple(
            self._accessory(ruby_to_s(name), acc, service, role_hosts) for name, acc in accessories_raw.items()
        )

        aliases: dict[str, str] = {}
        for name, command in self.mapping("aliases").items():
            AliasValidator(_thaw(command), example=schema.ALIAS, context=f"aliases/{ruby_to_s(name)}").validate()
            aliases[ruby_to_s(name)] = ruby_to_s(command)

        host_count = len(
            dict.fromkeys([*(h for s in specialized for h in s.hosts), *(h for a in accessories for h in a.hosts)])
        )
        boot_raw = self.mapping("boot")
        Validator(_thaw(boot_raw), example=schema.BOOT, context="boot").validate()

        builder_raw = self.mapping("builder")
        BuilderValidator(_thaw(builder_raw), example=schema.BUILDER, context="builder").validate()
        builder = Builder(builder_raw)

        EnvValidator(_thaw(root_env_raw), example=ANY_ENV, context="env").validate()
        root_env = Env.from_raw(root_env_raw)

        Validator(_thaw(root_logging.raw), example=schema.LOGGING, context="logging").validate()

        output_raw = self.mapping("output")
        if len(output_raw) > 0:
            Validator(_thaw(output_raw), example=schema.OUTPUT, context="output").validate()

        # `proxy: false` passes the root walk (roles may use booleans) but not the proxy validator.
        ProxyValidator(
            {} if root_proxy_raw is None else _thaw(root_proxy_raw), example=schema.PROXY, context="proxy"
        ).validate()
        root_proxy = Proxy(freeze_mapping(root_proxy_raw))

        ssh_raw = self.mapping("ssh")
        Validator(_thaw(ssh_raw), example=schema.SSH, context="ssh").validate()
        sshkit_raw = self.mapping("sshkit")
        Validator(_thaw(sshkit_raw), example=schema.SSHKIT, context="sshkit").validate()

        roles = tuple(spec.finish(self, root_env, env_tags, root_logging) for spec in specialized)

        # -- Kamal's ensure_* checks, in order --
        if is_truthy(self.get("require_destination")) and self.destination is None:
            raise ValidationError(
                "You must specify a destination", key="require_destination", kamal_class="ArgumentError"
            )
        self._ensure_required_keys(image, roles, accessories_raw)
        self._ensure_minimum_version()
        retain = self.get("retain_containers")
        retain_containers = retain if isinstance(retain, int) else 5
        if retain_containers < 1:
            raise ValidationError("Must retain at least 1 container", key="retain_containers")
        if not (isinstance(self.get("service"), str) and re.search(r"^[a-z0-9_-]+$", service, re.I | re.M)):
            raise ValidationError(
                "Service name can only include alphanumeric characters, hyphens, and underscores", key="service"
            )
        hooks_path = ruby_to_s(self.get("hooks_path") or ".kamal/hooks")
        self._ensure_no_traefik_reboot_hooks(hooks_path)
        roles = tuple(self._merge_role_proxy(role, root_proxy) for role in roles)
        self._ensure_ssl_hosts(roles)
        self._ensure_local_registry_builder(registry, builder)
        self._ensure_no_conflicting_proxy_runs(roles, accessories)
        hooks_output = self._hooks_output()

        config = Config(
            raw=self.raw,
            config_files=self.source.config_files,
            destination=self.destination,
            declared_version=self.version,
            root=self.source.root,
            environment=self.source.environment,
            secrets=self.secrets,
            service=service,
            image=image,
            labels=MappingProxyType({ruby_to_s(k): ruby_to_s(v) for k, v in self.mapping("labels").items()}),
            volumes=as_strings(self.get("volumes")),
            registry=registry,
            roles=roles,
            accessories=accessories,
            aliases=MappingProxyType(aliases),
            boot=Boot(boot_raw, host_count),
            builder=builder,
            env=root_env,
            env_tags=MappingProxyType(env_tags),
            logging=root_logging,
            output=Output(output_raw),
            proxy=root_proxy,
            ssh=Ssh(ssh_raw),
            sshkit=Sshkit(sshkit_raw),
            asset_path=opt_str(self.get("asset_path")),
            hooks_path=hooks_path,
            hooks_output=hooks_output,
            secrets_path=ruby_to_s(self.get("secrets_path") or ".kamal/secrets"),
            error_pages_path=opt_str(self.get("error_pages_path")),
            require_destination=is_truthy(self.get("require_destination")),
            primary_role_name=self._primary_role_name(),
            allow_empty_roles=is_truthy(self.get("allow_empty_roles")),
            retain_containers=retain_containers,
            minimum_version=opt_str(self.get("minimum_version")),
            readiness_delay=int_or(self.get("readiness_delay"), 7),
            deploy_timeout=int_or(self.get("deploy_timeout"), 30),
            drain_timeout=int_or(self.get("drain_timeout"), 30),
            stop_timeout=opt_int(self.get("stop_timeout")),
            run_directory_setting=opt_str(self.get("run_directory")),
            extensions=MappingProxyType(
                {ruby_to_s(k): v for k, v in self.raw.items() if ruby_to_s(k).startswith("x-")}
            ),
        )
        # tokens Kamal sends unquoted must not be able to run as shell (kamal_nb's own check)
        check_config(config)
        return config

    # -- servers and roles -----------------------------------------------------------------------

    @staticmethod
    def _role_names(servers: Frozen) -> list[str]:
        if isinstance(servers, tuple):
            return ["web"]
        if isinstance(servers, Mapping):
            names = list(servers)
            if not all(isinstance(name, str) for name in names):
                raise ValidationError("servers: role names must be strings")
            return sorted(str(name) for name in names)
        return []

    def _primary_role_name(self) -> str:
        primary = self.get("primary_role")
        return ruby_to_s(primary) if is_truthy(primary) else "web"

    def _specialized_role(self, name: str, service: str) -> RoleSpec:
        servers = self.get("servers")
        role_config: Frozen = EMPTY if isinstance(servers, tuple) else servers[name]  # type: ignore[index]
        RoleValidator(_thaw(role_config), example=schema.ROLE, context=f"servers/{name}").validate()
        specializations = role_config if isinstance(role_config, Mapping) else EMPTY
        host_entries = servers if isinstance(servers, tuple) else role_config
        if isinstance(host_entries, Mapping):
            host_entries = host_entries.get("hosts") or ()
        tagged = tagged_hosts(host_entries)

        role_env_raw = freeze_mapping(specializations.get("env"))
        EnvValidator(_thaw(role_env_raw), example=ANY_ENV, context=f"servers/{name}/env").validate()
        logging_raw = freeze_mapping(specializations.get("logging"))
        Validator(_thaw(logging_raw), example=schema.LOGGING, context=f"servers/{name}/logging").validate()

        primary = name == self._primary_role_name()
        proxy_setting = specializations.get("proxy")
        # The primary role runs the proxy unless `proxy: false`; other roles only when asked.
        running_proxy = proxy_setting is not False if primary else is_truthy(proxy_setting)
        specialized_proxy: Proxy | None = None
        if running_proxy:
            proxy_raw = EMPTY if proxy_setting is True or proxy_setting is None else proxy_setting
            ProxyValidator(_thaw(proxy_raw), example=schema.PROXY, context=f"servers/{name}/proxy").validate()
            specialized_proxy = Proxy(freeze_mapping(proxy_raw), role_name=name)

        return RoleSpec(
            name=name,
            service=service,
            destination=self.destination,
            primary=primary,
            specializations=specializations,
            tagged_hosts=tagged,
            env=Env.from_raw(role_env_raw),
            logging=Logging(logging_raw),
            proxy=specialized_proxy,
        )

    def _merge_role_proxy(self, role: Role, root_proxy: Proxy) -> Role:
        # Kamal builds the merged proxy lazily (first use is the SSL check) and validates it again,
        # without the role's context: e.g. root `host` + role `hosts` fails as "proxy: …".
        if role.proxy is None:
            return role
        merged = role.proxy.merged_over(root_proxy)
        ProxyValidator(_thaw(merged.raw), example=schema.PROXY, context="proxy").validate()
        return _replace_proxy(role, merged)

    def _env_tags(self) -> dict[str, Env]:
        env = self.mapping("env")
        tags = env.get("tags")
        if not isinstance(tags, Mapping):
            return {}
        return {ruby_to_s(name): Env.from_raw(freeze_mapping(conf)) for name, conf in tags.items()}

    # -- image, registry, accessories ------------------------------------------------------------

    def _image(self, service: str, registry: Registry) -> str:
        image = self.get("image")
        if is_present(image):
            return ruby_to_s(image)
        return service if registry.local else ""

    def _accessory(self, name: str, raw: Frozen, service: str, role_hosts: Mapping[str, tuple[str, ...]]) -> Accessory:
        context = f"accessories/{name}"
        AccessoryValidator(_thaw(raw), example=schema.ACCESSORY, context=context).validate()
        assert isinstance(raw, Mapping)
        roles = raw.get("roles")
        if is_truthy(roles) and isinstance(roles, tuple):
            missing = [ruby_to_s(r) for r in roles if ruby_to_s(r) not in role_hosts]
            if missing:
                raise ValidationError(f"{context}: unknown roles {', '.join(missing)}")
        elif is_truthy(raw.get("role")) and ruby_to_s(raw.get("role")) not in role_hosts:
            raise ValidationError(f"{context}: unknown role {ruby_to_s(raw.get('role'))}")

        env_raw = freeze_mapping(raw.get("env"))
        EnvValidator(_thaw(env_raw), example=ANY_ENV, context=f"{context}/env").validate()
        proxy: Proxy | None = None
        if is_present(raw.get("proxy")):
            ProxyValidator(_thaw(raw.get("proxy")), example=schema.PROXY, context=f"{context}/proxy").validate()
            proxy = Proxy(freeze_mapping(raw.get("proxy")))
        registry: Registry | None = None
        if is_present(raw.get("registry")):
            registry_raw = freeze_mapping(raw.get("registry"))
            RegistryValidator(_thaw(registry_raw), example=schema.REGISTRY, context=f"{context}/registry").validate()
            registry = _registry(registry_raw)

        service_name = ruby_to_s(raw["service"]) if raw.get("service") is not None else f"{service}-{name}"
        image = "/".join(p for p in (registry.server if registry else None, opt_str(raw.get("image"))) if p is not None)
        port = opt_str(raw.get("port"))
        if port is not None and ":" not in port:
            port = f"{port}:{port}"
        labels = {"service": service_name, **{ruby_to_s(k): ruby_to_s(v) for k, v in as_map(raw.get("labels")).items()}}
        return Accessory(
            name=name,
            service_name=service_name,
            image=image,
            hosts=self._accessory_hosts(raw, role_hosts),
            port=port,
            labels=MappingProxyType(labels),
            options=freeze_mapping(raw.get("options")),
            cmd=opt_str(raw.get("cmd")),
            env=Env.from_raw(env_raw),
            proxy=proxy,
            registry=registry,
            files=tuple(self._path(entry, service_name, is_file=True) for entry in as_seq(raw.get("files"))),
            directories=tuple(
                self._path(entry, service_name, is_file=False) for entry in as_seq(raw.get("directories"))
            ),
            volumes=as_strings(raw.get("volumes")),
            network=ruby_to_s(raw.get("network") or DEFAULT_NETWORK),
        )

    def _accessory_hosts(
        self, raw: Mapping[object, Frozen], role_hosts: Mapping[str, tuple[str, ...]]
    ) -> tuple[str, ...]:
        if "host" in raw:
            return (ruby_to_s(raw["host"]),)
        if "hosts" in raw:
            return tuple(host_entry_name(h) for h in as_seq(raw["hosts"]))
        if "role" in raw:
            return role_hosts.get(ruby_to_s(raw["role"]), ())
        if "roles" in raw:
            return tuple(h for r in as_seq(raw["roles"]) for h in role_hosts.get(ruby_to_s(r), ()))
        tags = (raw["tag"],) if "tag" in raw else as_seq(raw.get("tags"))
        return tuple(h for tag in tags for h in self._hosts_with_tag(ruby_to_s(tag)))

    def _hosts_with_tag(self, tag: str) -> list[str]:
        # Kamal only looks at roles written as plain host lists (not `hosts:` hashes), in file
        # order, and tests a single tag string with `include?` (a substring match): same here.
        servers = self.get("servers")
        found: list[str] = []
        if not isinstance(servers, Mapping):
            return found
        for entries in servers.values():
            if not isinstance(entries, tuple):
                continue
            for entry in entries:
                if isinstance(entry, Mapping) and entry:
                    host, tags = next(iter(entry.items()))
                    if (tag in tags) if isinstance(tags, str | tuple) else False:
                        found.append(ruby_to_s(host))
        return found

    def _path(self, entry: Frozen, service_name: str, *, is_file: bool) -> AccessoryPath:
        if isinstance(entry, Mapping):
            local, remote = ruby_to_s(entry.get("local")), ruby_to_s(entry.get("remote"))
            options, mode, owner = (
                opt_str(entry.get("options")),
                opt_str(entry.get("mode")),
                opt_str(entry.get("owner")),
            )
            mode = mode if mode is not None else ("755" if is_file else None)
        else:
            parts = ruby_to_s(entry).split(":", 2)
            local, remote = parts[0], parts[1] if len(parts) > 1 else ""
            options = parts[2] if len(parts) > 2 else None
            mode, owner = ("755" if is_file else None), None
        if is_file:
            local_path = local if local.endswith("erb") else os.path.abspath(os.path.join(self.source.root, local))
            return AccessoryPath(local_path, service_name + remote, remote, mode, owner, options)
        absolute = os.path.isabs(local)
        return AccessoryPath(
            local if absolute else f"$PWD/{service_name}/{local}",
            local if absolute else os.path.join(service_name, local),
            remote,
            mode,
            owner,
            options,
        )

    # -- ensure_* ------------------------------------------------------------------------------

    def _ensure_required_keys(
        self, image: str, roles: tuple[Role, ...], accessories_raw: Mapping[object, Frozen]
    ) -> None:
        for key in ("service", "registry"):
            if not is_present(self.get(key)):
                raise ValidationError(f"Missing required configuration for {key}", key=key)
        if is_blank(image):
            raise ValidationError("Missing required configuration for image", key="image")
        if self.get("servers") is None:
            if not is_present(accessories_raw):
                raise ValidationError("No servers or accessories specified", key="servers")
            return
        primary_name = self._primary_role_name()
        primary = next((role for role in roles if role.name == primary_name), None)
        if primary is None:
            raise ValidationError(f"The primary_role {primary_name} isn't defined", key="primary_role")
        if not primary.hosts:
            raise ValidationError(
                f"No servers specified for the {primary.name} primary_role", key=f"servers/{primary.name}"
            )
        if not is_truthy(self.get("allow_empty_roles")):
            for role in roles:
                if not role.hosts:
                    raise ValidationError(
                        f"No servers specified for the {role.name} role. You can ignore this with allow_empty_roles: true",
                        key=f"servers/{role.name}",
                    )

    def _ensure_minimum_version(self) -> None:
        minimum = self.get("minimum_version")
        if minimum is None or minimum is False:
            return
        wanted = ruby_to_s(minimum)
        if _gem_version(wanted) > _gem_version(KAMAL_COMPAT_VERSION):
            raise ValidationError(
                f"Current version is {KAMAL_COMPAT_VERSION}, minimum required is {wanted}", key="minimum_version"
            )

    def _ensure_no_traefik_reboot_hooks(self, hooks_path: str) -> None:
        directory = os.path.join(self.source.root, hooks_path)
        found = [
            hook
            for hook in ("pre-traefik-reboot", "post-traefik-reboot")
            if os.path.exists(os.path.join(directory, hook))
        ]
        if found:
            raise ValidationError(
                f"Found {', '.join(found)}, these should be renamed to (pre|post)-proxy-reboot", key="hooks_path"
            )

    @staticmethod
    def _ensure_ssl_hosts(roles: tuple[Role, ...]) -> None:
        for role in roles:
            proxy = role.proxy
            if proxy is not None and proxy.ssl and len(role.hosts) > 1 and not proxy.custom_ssl_certificate:
                raise ValidationError(
                    "SSL is only supported on a single server unless you provide custom certificates, "
                    f"found {len(role.hosts)} servers for role {role.name}",
                    key=f"servers/{role.name}/proxy",
                )
        hosts = [host for role in roles if role.proxy is not None and role.ssl for host in role.proxy.hosts]
        duplicates = [host for host, count in Counter(hosts).items() if count > 1]
        if duplicates:
            raise ValidationError(
                f"Different roles can't share the same host for SSL: {', '.join(duplicates)}", key="proxy/host"
            )

    @staticmethod
    def _ensure_local_registry_builder(registry: Registry, builder: Builder) -> None:
        remote_build = builder.remote_arches(local_docker_arch())
        if registry.local and remote_build and urlsplit(builder.remote or "").scheme != "ssh":
            raise ValidationError(
                "Local registry with remote builder requires an SSH URL (e.g., ssh://user@host)", key="builder/remote"
            )

    @staticmethod
    def _ensure_no_conflicting_proxy_runs(roles: tuple[Role, ...], accessories: tuple[Accessory, ...]) -> None:
        hosts = dict.fromkeys([*(h for r in roles for h in r.hosts), *(h for a in accessories for h in a.hosts)])
        for host in hosts:
            proxies = [r.proxy for r in roles if host in r.hosts] + [a.proxy for a in accessories if host in a.hosts]
            runs = {_hashable(p.run.raw) for p in proxies if p is not None and p.run is not None}
            if len(runs) > 1:
                raise ValidationError(f"Conflicting proxy run configurations for host {host}", key="proxy/run")

    def _hooks_output(self) -> str | Mapping[str, str] | None:
        value = self.get("hooks_output")
        if isinstance(value, Mapping):
            levels = {ruby_to_s(hook): _level(level, ruby_to_s(hook)) for hook, level in value.items()}
            return MappingProxyType(levels)
        if isinstance(value, str | RubySymbol):
            return _level(value, None)
        return None


# The env validator does not use its example document; this keeps the signature uniform.
ANY_ENV: schema.Example = {}


def _replace_proxy(role: Role, proxy: Proxy) -> Role:
    return replace(role, proxy=proxy)


def _registry(raw: Mapping[object, Frozen]) -> Registry:
    return Registry(
        server=opt_str(raw.get("server")), username_setting=raw.get("username"), password_setting=raw.get("password")
    )


def _level(level: object, hook: str | None) -> str:
    name = ruby_to_s(level)
    if name not in HOOKS_OUTPUT_LEVELS:
        context = f" for hook '{hook}'" if hook is not None else ""
        raise ValidationError(
            f"Invalid hooks_output '{name}'{context}, must be one of: quiet, verbose", key="hooks_output"
        )
    return name


def local_docker_arch() -> str:
    """The local engine's arch in Docker's words. Kamal asks ``docker info``; we read the machine
    arch instead, so that loading a config never runs anything."""
    machine = platform.machine().lower()
    if "aarch64" in machine or "arm64" in machine:
        return "arm64"
    if "x86_64" in machine or "amd64" in machine:
        return "amd64"
    return machine


def _gem_version(text: str) -> tuple[tuple[int, int | str], ...]:
    """Enough of ``Gem::Version`` ordering: numeric segments compare as numbers, and a letter
    segment (a prerelease) sorts before any number."""
    if not re.fullmatch(r"\s*([0-9]+(?:\.[0-9a-zA-Z]+)*(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?)?\s*", text):
        raise ValidationError(f"Malformed version number string {text}", key="minimum_version")
    segments: list[tuple[int, int | str]] = []
    for part in re.findall(r"[0-9]+|[a-z]+", text.replace("-", ".pre."), re.IGNORECASE):
        segments.append((1, int(part)) if part.isdigit() else (0, part))
    while segments and segments[-1] == (1, 0):
        segments.pop()
    return tuple(segments)


def _hashable(value: object) -> object:
    if isinstance(value, Mapping):
        return tuple((ruby_to_s(k), _hashable(v)) for k, v in value.items())
    if isinstance(value, tuple | list):
        return tuple(_hashable(v) for v in value)
    return value


def _thaw(value: object) -> object:
    return thaw(value)


__all__ = ["ConfigError", "Source", "build_config", "freeze", "local_docker_arch"]
