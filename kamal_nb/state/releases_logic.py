"""How Kamal tells the current release from containers: labels, names, the ``latest`` tag.

* An app container has the labels ``service``, ``role`` and ``destination`` (empty without one),
  and is named ``<service>-<role>[-<destination>]-<version>``; a re-deploy of the same version
  renames the old one ``<version>_replaced_<hex>``.
* The current container of a role on a host (``current_running_container``): the newest running or
  restarting one whose image is the one tagged ``latest[-<destination>]``, else the newest running
  or restarting one.
* Stale containers (``app stale_containers``): running ones of another version than the current.
* Rollback candidates: the role's other containers still on the host (``kamal rollback V`` starts
  ``<prefix>-V`` again), newest first.
"""

from __future__ import annotations

import datetime
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from kamal_nb.state.deployment import PROXY_CONTAINER, Deployment
from kamal_nb.state.model import Container, HostSnapshot

Kind = Literal["app", "proxy", "accessory"]
REPLACED = "_replaced_"
_OLDEST = datetime.datetime.min.replace(tzinfo=datetime.UTC)


def container_kind(deployment: Deployment, container: Container) -> Kind | None:
    labels = container.labels
    ours = labels.get("service") == deployment.service
    if ours and "role" in labels and labels.get("destination", "") == (deployment.destination or ""):
        return "app"
    if container.name == PROXY_CONTAINER:
        return "proxy"
    if any(container.name == a.service_name for a in deployment.accessories):
        return "accessory"
    return None


def version_from_name(name: str, prefix: str) -> str | None:
    """What follows ``<prefix>-`` in the name (Kamal's ``${line#<prefix>-}``), None if it is not there."""
    head = prefix + "-"
    return name[len(head) :] if name.startswith(head) and len(name) > len(head) else None


@dataclass(frozen=True)
class AppContainer:
    """An app container with Kamal's labels and name read."""

    host: str
    container: Container
    role: str
    version: str | None  # the name's suffix, `_replaced_<hex>` included

    @property
    def replaced(self) -> bool:
        return self.version is not None and REPLACED in self.version

    @property
    def base_version(self) -> str | None:
        return self.version.split(REPLACED, 1)[0] if self.version is not None else None

    @property
    def active(self) -> bool:
        return self.container.active

    @property
    def created(self) -> datetime.datetime:
        return self.container.created or _OLDEST


def app_containers(deployment: Deployment, snapshot: HostSnapshot) -> tuple[AppContainer, ...]:
    found = []
    for container in snapshot.containers:
        if container_kind(deployment, container) == "app":
            role = container.labels["role"]
            version = version_from_name(container.name, deployment.container_prefix(role))
            found.append(AppContainer(snapshot.host, container, role, version))
    return tuple(found)


def latest_image_id(deployment: Deployment, snapshot: HostSnapshot) -> str | None:
    for image in snapshot.images:
        if image.repository == deployment.repository and image.tag == deployment.latest_tag:
            return image.id
    return None


def current_container(candidates: Sequence[AppContainer], latest_image: str | None) -> AppContainer | None:
    """Kamal's ``current_running_container`` among one role's containers on one host."""
    active = [c for c in candidates if c.active]
    preferred = [c for c in active if latest_image and c.container.image_id == latest_image]
    pool = preferred or active
    return max(pool, key=lambda c: c.created) if pool else None


@dataclass(frozen=True)
class RoleRelease:
    """One role on one host: its current container, the stale ones, what it could roll back to."""

    host: str
    role: str
    unknown: str | None = None  # why the host's containers are not known: unreachable, no docker
    current: AppContainer | None = None
    active: tuple[AppContainer, ...] = ()
    stale: tuple[AppContainer, ...] = ()
    rollback_versions: tuple[str, ...] = ()

    @property
    def known(self) -> bool:
        return self.unknown is None

    @property
    def version(self) -> str | None:
        return self.current.version if self.current is not None else None


def role_releases(deployment: Deployment, snapshots: Sequence[HostSnapshot]) -> tuple[RoleRelease, ...]:
    """A release per selected host and role on it, in host order then the deployment's role order."""
    by_host = {s.host: s for s in snapshots}
    releases = []
    for host in deployment.hosts:
        snapshot = by_host.get(host)
        containers = app_containers(deployment, snapshot) if snapshot is not None else ()
        latest = latest_image_id(deployment, snapshot) if snapshot is not None else None
        for role in deployment.roles_on(host):
            if snapshot is None or not snapshot.reachable:
                releases.append(RoleRelease(host, role.name, "unreachable"))
                continue
            if snapshot.docker_version is None:
                releases.append(RoleRelease(host, role.name, "docker unavailable"))
                continue
            mine = [c for c in containers if c.role == role.name]
            current = current_container(mine, latest)
            active = tuple(sorted((c for c in mine if c.active), key=lambda c: c.created, reverse=True))
            stale = tuple(c for c in active if current is None or c.version != current.version)
            others = sorted((c for c in mine if not c.active and not c.replaced), key=lambda c: c.created, reverse=True)
            rollback = tuple(
                dict.fromkeys(
                    c.version for c in others if c.version and (current is None or c.version != current.version)
                )
            )
            releases.append(RoleRelease(host, role.name, None, current, active, stale, rollback))
    return tuple(releases)


@dataclass(frozen=True)
class Skew:
    """A role whose hosts run different current versions."""

    role: str
    hosts_by_version: dict[str, tuple[str, ...]]

    @property
    def majority(self) -> str | None:
        """The version most hosts run; None on a tie."""
        counts = Counter({v: len(h) for v, h in self.hosts_by_version.items()}).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            return None
        return counts[0][0]

    def odd_hosts(self) -> tuple[str, ...]:
        """Hosts not on the majority version (every host on a tie)."""
        majority = self.majority
        return tuple(h for v, hosts in self.hosts_by_version.items() if v != majority for h in hosts)

    def describe(self) -> str:
        return ", ".join(f"{v} on {', '.join(h)}" for v, h in self.hosts_by_version.items())


def version_skews(releases: Sequence[RoleRelease]) -> tuple[Skew, ...]:
    roles: dict[str, dict[str, list[str]]] = {}
    for release in releases:
        if release.version is not None:
            roles.setdefault(release.role, {}).setdefault(release.version, []).append(release.host)
    return tuple(
        Skew(role, {v: tuple(h) for v, h in versions.items()}) for role, versions in roles.items() if len(versions) > 1
    )
