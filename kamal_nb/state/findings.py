"""Findings: what looks wrong across the fleet, one row per problem, worst first.

* ``unreachable``: the host could not be probed (connection, key, timeout);
* ``docker_unavailable`` / ``probe_incomplete``: reachable, but docker or part of the probe failed;
* ``no_running_container``: a role on a host with no running app container;
* ``version_skew``: a role whose hosts run different current versions;
* ``stale_container``: another version still running beside the current one;
* ``unhealthy_container``, ``restarting_container``: the health check fails, or docker keeps restarting it;
* ``proxy_not_running``: kamal-proxy is not running on a host whose roles use it;
* ``accessory_not_running``: an accessory container exists but is not running;
* ``stale_lock``: a deploy lock older than an hour; ``lock_held``: a deploy lock (informational);
* ``lock_unreadable``: a lock directory whose details cannot be decoded;
* ``nothing_deployed``: no host has an app or kamal-proxy container yet (informational: a fresh
  fleet before its first deploy, instead of an error per missing container).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kamal_nb.state.deployment import PROXY_CONTAINER, Deployment
from kamal_nb.state.lock import STALE_LOCK_AFTER
from kamal_nb.state.model import HostSnapshot
from kamal_nb.state.releases_logic import RoleRelease, Skew, container_kind
from kamal_nb.state.table import Column, Level, Table, category, format_duration, string

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
KINDS = (
    "unreachable",
    "docker_unavailable",
    "probe_incomplete",
    "no_running_container",
    "version_skew",
    "stale_container",
    "unhealthy_container",
    "restarting_container",
    "proxy_not_running",
    "accessory_not_running",
    "stale_lock",
    "lock_unreadable",
    "lock_held",
    "nothing_deployed",
)
_LEVEL: dict[Severity, Level] = {"error": "bad", "warning": "warn", "info": "info"}


@dataclass(frozen=True)
class Finding:
    severity: Severity
    kind: str
    message: str
    host: str | None = None
    role: str | None = None


def find(
    deployment: Deployment,
    snapshots: Sequence[HostSnapshot],
    releases: Sequence[RoleRelease],
    skews: Sequence[Skew],
    now: datetime.datetime,
    stale_lock_after: datetime.timedelta = STALE_LOCK_AFTER,
) -> tuple[Finding, ...]:
    found: list[Finding] = []
    by_host = {s.host: s for s in snapshots}
    probed = [s for s in snapshots if s.reachable and s.docker_version is not None]
    fresh = bool(probed) and not any(
        container_kind(deployment, c) in ("app", "proxy") for s in probed for c in s.containers
    )
    if fresh:
        found.append(Finding("info", "nothing_deployed", "nothing deployed yet: run kamal setup or kamal deploy"))
    for host in deployment.hosts:
        snapshot = by_host.get(host)
        if snapshot is None or not snapshot.reachable:
            reason = snapshot.error if snapshot is not None else "not probed"
            found.append(Finding("error", "unreachable", f"{host} could not be probed: {reason}", host))
            continue
        if snapshot.docker_version is None:
            found.append(Finding("error", "docker_unavailable", f"docker does not answer on {host}", host))
        elif snapshot.problems:
            found.append(
                Finding(
                    "warning", "probe_incomplete", f"part of the probe failed: {'; '.join(snapshot.problems)}", host
                )
            )
        if snapshot.docker_version is None:
            continue
        proxy = next((c for c in snapshot.containers if c.name == PROXY_CONTAINER), None)
        if not fresh and deployment.runs_proxy(host) and (proxy is None or proxy.state != "running"):
            state = "missing" if proxy is None else proxy.state
            found.append(Finding("error", "proxy_not_running", f"kamal-proxy is {state} on {host}", host))
        for c in snapshot.containers:
            kind = container_kind(deployment, c)
            if kind == "accessory" and c.state != "running":
                found.append(
                    Finding("error", "accessory_not_running", f"accessory {c.name} is {c.state} on {host}", host)
                )
            if kind is not None and c.health == "unhealthy" and c.active:
                role = c.labels.get("role") if kind == "app" else None
                found.append(Finding("error", "unhealthy_container", f"{c.name} is unhealthy on {host}", host, role))
            if kind is not None and c.state == "restarting":
                role = c.labels.get("role") if kind == "app" else None
                found.append(
                    Finding(
                        "error",
                        "restarting_container",
                        f"{c.name} keeps restarting on {host} ({c.restart_count or 0} restarts)",
                        host,
                        role,
                    )
                )
    for release in releases:
        if not release.known:
            continue
        if release.current is None and not fresh:
            found.append(
                Finding(
                    "error",
                    "no_running_container",
                    f"no running {release.role} container on {release.host}",
                    release.host,
                    release.role,
                )
            )
        for stale in release.stale:
            found.append(
                Finding(
                    "warning",
                    "stale_container",
                    f"{stale.container.name} still runs beside {release.version or 'nothing current'}"
                    f" on {release.host} (kamal app stale_containers --stop)",
                    release.host,
                    release.role,
                )
            )
    for skew in skews:
        found.append(Finding("warning", "version_skew", f"role {skew.role} runs {skew.describe()}", None, skew.role))
    for host in deployment.hosts:
        snapshot = by_host.get(host)
        lock = snapshot.lock if snapshot is not None else None
        if lock is None:
            continue
        since = lock.time
        age = now - since if since is not None else None
        who = f"{lock.locked_by or 'someone'}: {lock.message!r}" if lock.readable else "unreadable details"
        if not lock.readable:
            found.append(Finding("warning", "lock_unreadable", f"the deploy lock on {host} has {who}", host))
        if age is not None and age > stale_lock_after:
            found.append(
                Finding(
                    "warning",
                    "stale_lock",
                    f"deploy lock on {host} held for {format_duration(age)} ({who})",
                    host,
                )
            )
        else:
            held = f" for {format_duration(age)}" if age is not None else ""
            found.append(Finding("info", "lock_held", f"deploy lock on {host} held{held} ({who})", host))
    order = {h: i for i, h in enumerate(deployment.hosts)}
    return tuple(
        sorted(
            found,
            key=lambda f: (SEVERITIES.index(f.severity), KINDS.index(f.kind), order.get(f.host or "", -1)),
        )
    )


def columns(deployment: Deployment) -> list[Column]:
    return [
        category("severity", SEVERITIES, ordered=True),
        category("kind", KINDS),
        string("host"),
        category("role", deployment.role_names),
        string("message"),
        string("status"),
    ]


def build(deployment: Deployment, findings: Sequence[Finding]) -> Table:
    rows: list[dict[str, Any]] = [
        {
            "severity": f.severity,
            "kind": f.kind,
            "host": f.host,
            "role": f.role,
            "message": f.message,
            "status": f.severity.upper(),
        }
        for f in findings
    ]
    levels = [_LEVEL[f.severity] for f in findings]
    return Table("findings", columns(deployment), rows, levels, empty="nothing wrong found")
