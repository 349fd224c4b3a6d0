"""A role between the two passes of the assembly: validated with its hosts and tags in the servers
pass, finished (env per host, labels, logging, asset path) once the root env and logging are known."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Protocol

from kamal_nb.config.docker_logging import Logging
from kamal_nb.config.env import Env
from kamal_nb.config.frozen import Frozen, as_map, as_seq, freeze_mapping, int_or, opt_str
from kamal_nb.config.proxy import Proxy
from kamal_nb.config.roles import Role
from kamal_nb.ruby.values import is_present, is_truthy, ruby_to_s


class Settings(Protocol):
    """The root settings a role falls back to (the assembly of the whole deploy.yml)."""

    def get(self, key: str) -> Frozen: ...

    def mapping(self, key: str) -> Mapping[object, Frozen]: ...


class RoleSpec:
    """A role as validated in the servers pass; finished once the root env and logging are known."""

    def __init__(
        self,
        *,
        name: str,
        service: str,
        destination: str | None,
        primary: bool,
        specializations: Mapping[object, Frozen],
        tagged_hosts: dict[str, tuple[str, ...]],
        env: Env,
        logging: Logging,
        proxy: Proxy | None,
    ) -> None:
        self.name = name
        self.service = service
        self.destination = destination
        self.primary = primary
        self.specializations = specializations
        self.tagged_hosts = tagged_hosts
        self.env = env
        self.logging = logging
        self.proxy = proxy

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(self.tagged_hosts)

    def finish(self, assembly: Settings, root_env: Env, env_tags: Mapping[str, Env], root_logging: Logging) -> Role:
        spec = self.specializations
        envs = {}
        for host, tags in self.tagged_hosts.items():
            env = root_env.merge(self.env)
            for tag in tags:
                if tag in env_tags:  # a tag with no env section is just a label for hosts
                    env = env.merge(env_tags[tag])
            envs[host] = env
        labels: dict[str, str | None] = {"service": self.service, "role": self.name, "destination": self.destination}
        labels.update({ruby_to_s(k): ruby_to_s(v) for k, v in assembly.mapping("labels").items()})
        labels.update({ruby_to_s(k): ruby_to_s(v) for k, v in as_map(spec.get("labels")).items()})
        asset_raw = spec.get("asset_path") or assembly.get("asset_path")
        asset_path = asset_options = None
        if is_present(asset_raw):
            path, _, options = ruby_to_s(asset_raw).partition(":")
            asset_path, asset_options = path, (options if ":" in ruby_to_s(asset_raw) else None)
        # Ruby `||`: 0 is a value, only nil/false fall through.
        stop_timeout = spec.get("stop_timeout")
        if not is_truthy(stop_timeout):
            stop_timeout = assembly.get("stop_timeout")
        return Role(
            name=self.name,
            hosts=self.hosts,
            host_tags=MappingProxyType(self.tagged_hosts),
            primary=self.primary,
            container_prefix="-".join(p for p in (self.service, self.name, self.destination) if p is not None),
            cmd=opt_str(spec.get("cmd")),
            options=freeze_mapping(spec.get("options")),
            labels=MappingProxyType(labels),
            logging=root_logging.merge(self.logging),
            running_proxy=self.proxy is not None,
            proxy=self.proxy,
            stop_timeout=stop_timeout if isinstance(stop_timeout, int) else None,
            drain_timeout=int_or(assembly.get("drain_timeout"), 30),
            asset_path=asset_path,
            asset_path_options=asset_options,
            envs=MappingProxyType(envs),
        )


def tagged_hosts(entries: Frozen) -> dict[str, tuple[str, ...]]:
    tagged: dict[str, tuple[str, ...]] = {}
    for entry in as_seq(entries):
        if isinstance(entry, Mapping) and entry:
            host, tags = next(iter(entry.items()))
            tagged[ruby_to_s(host)] = (
                tuple(ruby_to_s(t) for t in tags) if isinstance(tags, tuple) else (ruby_to_s(tags),)
            )
        elif isinstance(entry, str):
            tagged[entry] = ()
        # Kamal silently drops other host entries (a bare number passes validation as "stringish").
    return tagged
