"""The servers table: one row per selected host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kamal_nb.state.deployment import PROXY_CONTAINER, Deployment
from kamal_nb.state.model import HostSnapshot
from kamal_nb.state.releases_logic import app_containers
from kamal_nb.state.table import Column, Level, Table, boolean, integer, string


def columns() -> list[Column]:
    return [
        string("host"),
        string("roles"),  # comma-separated, as Kamal lists them
        string("accessories"),
        string("tags"),
        boolean("primary"),
        boolean("reachable"),
        string("docker_version"),
        boolean("proxy_running"),  # NA when the host could not be probed
        boolean("lock_held"),
        integer("app_running"),  # running or restarting app containers
        integer("app_containers"),
        string("error"),
        string("status"),
    ]


def build(deployment: Deployment, snapshots: Sequence[HostSnapshot]) -> Table:
    by_host = {s.host: s for s in snapshots}
    rows: list[dict[str, Any]] = []
    levels: list[Level] = []
    for host in deployment.hosts:
        snapshot = by_host.get(host) or HostSnapshot(host, error="not probed")
        row: dict[str, Any] = {
            "host": host,
            "roles": ",".join(r.name for r in deployment.roles_on(host)),
            "accessories": ",".join(a.name for a in deployment.accessories_on(host)),
            "tags": ",".join(deployment.tags_of(host)),
            "primary": host == deployment.primary_host,
            "reachable": snapshot.reachable,
        }
        problems: list[str] = []
        level: Level = "ok"
        if not snapshot.reachable:
            row["error"] = snapshot.error
            problems.append("unreachable")
            level = "bad"
        else:
            apps = app_containers(deployment, snapshot)
            proxy = next((c for c in snapshot.containers if c.name == PROXY_CONTAINER), None)
            row |= {
                "docker_version": snapshot.docker_version,
                "proxy_running": proxy is not None and proxy.state == "running",
                "lock_held": snapshot.lock is not None,
                "app_running": sum(1 for c in apps if c.active),
                "app_containers": len(apps),
                "error": "; ".join(snapshot.problems) or None,
            }
            if snapshot.docker_version is None:
                problems.append("docker unavailable")
                level = "bad"
            elif snapshot.problems:
                problems.append("probe incomplete")
                level = "bad"
            if deployment.runs_proxy(host) and snapshot.docker_version is not None and not row["proxy_running"]:
                problems.append("proxy not running")
                level = "bad"
            if deployment.roles_on(host) and snapshot.docker_version is not None and row["app_running"] == 0:
                problems.append("no app running")
                level = "bad"
            if snapshot.lock is not None:
                problems.append("deploy lock held here")
                level = "warn" if level == "ok" else level
        row["status"] = "; ".join(problems) or "ok"
        rows.append(row)
        levels.append(level)
    return Table("servers", columns(), rows, levels, empty="no hosts selected")
