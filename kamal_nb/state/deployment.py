"""What the state tables need to know about the deployment: names, roles, hosts, where things live.

A small value taken from the Config and the host selection, so the probe, the parsers and the tables
never need a deploy.yml (unit tests build one directly).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kamal_nb.config import Config
    from kamal_nb.ops.selection import Selection

PROXY_CONTAINER = "kamal-proxy"  # Kamal 2's kamal-proxy container name


@dataclass(frozen=True)
class RoleInfo:
    name: str
    hosts: tuple[str, ...]
    container_prefix: str  # <service>-<role>[-<destination>]
    running_proxy: bool = False
    host_tags: Mapping[str, tuple[str, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class AccessoryInfo:
    name: str
    service_name: str  # the container name
    hosts: tuple[str, ...]
    running_proxy: bool = False


@dataclass(frozen=True)
class Deployment:
    """One service (and destination) on a set of hosts, as the state tables see it."""

    service: str
    destination: str | None
    repository: str  # [registry.server/]image
    hosts: tuple[str, ...]  # the selected hosts, primary role's first
    primary_host: str | None
    roles: tuple[RoleInfo, ...]
    accessories: tuple[AccessoryInfo, ...] = ()

    @classmethod
    def from_config(cls, config: Config, selection: Selection | None = None) -> Deployment:
        from kamal_nb.ops.selection import Selection

        selection = selection or Selection(config)
        hosts = selection.hosts
        chosen = set(hosts)
        roles = tuple(
            RoleInfo(
                name=role.name,
                hosts=tuple(h for h in role.hosts if h in chosen),
                container_prefix=role.container_prefix,
                running_proxy=role.running_proxy,
                host_tags={h: tuple(t) for h, t in role.host_tags.items() if h in chosen},
            )
            for role in selection.roles
        )
        accessories = tuple(
            AccessoryInfo(a.name, a.service_name, tuple(h for h in a.hosts if h in chosen), a.running_proxy)
            for a in config.accessories
            if chosen & set(a.hosts)
        )
        return cls(
            service=config.service,
            destination=config.destination,
            repository=config.repository,
            hosts=hosts,
            primary_host=selection.primary_host,
            roles=roles,
            accessories=accessories,
        )

    # -- Kamal's names -----------------------------------------------------------------------------

    @property
    def service_and_destination(self) -> str:
        return "-".join(p for p in (self.service, self.destination) if p)

    @property
    def latest_tag(self) -> str:
        return "-".join(["latest", *([self.destination] if self.destination else [])])

    @property
    def lock_dir(self) -> str:
        return ".kamal/" + "-".join(p for p in ("lock", self.service, self.destination) if p)

    @property
    def audit_log(self) -> str:
        return f".kamal/{self.service_and_destination}-audit.log"

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.roles)

    def role(self, name: str) -> RoleInfo | None:
        return next((r for r in self.roles if r.name == name), None)

    def roles_on(self, host: str) -> tuple[RoleInfo, ...]:
        return tuple(r for r in self.roles if host in r.hosts)

    def accessories_on(self, host: str) -> tuple[AccessoryInfo, ...]:
        return tuple(a for a in self.accessories if host in a.hosts)

    def runs_proxy(self, host: str) -> bool:
        return any(r.running_proxy for r in self.roles_on(host)) or any(
            a.running_proxy for a in self.accessories_on(host)
        )

    def tags_of(self, host: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for r in self.roles_on(host) for t in r.host_tags.get(host, ())))

    def container_prefix(self, role: str) -> str:
        """``<service>-<role>[-<destination>]``, also for a role no longer in the config."""
        known = self.role(role)
        if known is not None:
            return known.container_prefix
        return "-".join(p for p in (self.service, role, self.destination) if p)
