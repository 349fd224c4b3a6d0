"""The containers table: every container of the deployment (app, kamal-proxy, accessories) per host."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kamal_nb.state.deployment import Deployment
from kamal_nb.state.model import HostSnapshot
from kamal_nb.state.releases_logic import REPLACED, RoleRelease, container_kind, version_from_name
from kamal_nb.state.states import HEALTHS, STATES, health_of
from kamal_nb.state.table import Column, Level, Table, boolean, category, integer, moment, string

KINDS = ("app", "proxy", "accessory")


def columns(deployment: Deployment) -> list[Column]:
    return [
        string("host"),
        category("kind", KINDS),
        string("name"),
        string("service"),  # the labels Kamal puts on app containers
        category("role", deployment.role_names),
        string("destination"),
        string("version"),  # from the name: <service>-<role>[-<destination>]-<version>
        boolean("replaced"),  # renamed <version>_replaced_<hex> by a re-deploy of the same version
        boolean("current"),  # the role's current container on the host (NA for proxy, accessories)
        string("container_id"),
        string("image"),
        string("image_id"),
        category("state", STATES, ordered=True),
        category("health", HEALTHS),
        integer("exit_code"),
        integer("restart_count"),
        moment("created_at"),
        moment("started_at"),
        moment("finished_at"),
        string("status"),
    ]


def build(deployment: Deployment, snapshots: Sequence[HostSnapshot], releases: Sequence[RoleRelease]) -> Table:
    current = {r.current.container.id for r in releases if r.current is not None}
    stale = {c.container.id for r in releases for c in r.stale}
    selected = set(deployment.hosts)
    rows: list[dict[str, Any]] = []
    levels: list[Level] = []
    for snapshot in snapshots:
        if snapshot.host not in selected:
            continue
        for c in snapshot.containers:
            kind = container_kind(deployment, c)
            if kind is None:
                continue
            row: dict[str, Any] = {
                "host": snapshot.host,
                "kind": kind,
                "name": c.name,
                "container_id": c.id[:12],
                "image": c.image,
                "image_id": c.image_id.removeprefix("sha256:")[:12] or None,
                "state": c.state if c.state in STATES else None,
                "health": health_of(c),
                "exit_code": c.exit_code,
                "restart_count": c.restart_count,
                "created_at": c.created,
                "started_at": c.started_at,
                "finished_at": c.finished_at,
            }
            words = [c.state + (f" ({c.exit_code})" if c.state == "exited" else "")]
            level: Level = "ok"
            if kind == "app":
                role = c.labels.get("role", "")
                version = version_from_name(c.name, deployment.container_prefix(role))
                row |= {
                    "service": c.labels.get("service"),
                    "role": role,
                    "destination": c.labels.get("destination") or None,
                    "version": version,
                    "replaced": version is not None and REPLACED in version,
                    "current": c.id in current,
                }
                if c.id in current:
                    words.append("current")
                elif c.id in stale:
                    words.append("stale")
                    level = "warn"
                elif c.state == "exited":
                    words.append("rollback candidate" if not row["replaced"] else "replaced")
            elif c.state != "running":
                level = "bad"  # kamal-proxy and accessories should always run
            if c.state in ("restarting", "dead") or (c.id in current and c.state != "running"):
                level = "bad"
            if c.health == "unhealthy":
                words.append("unhealthy")
                level = "bad"
            row["status"] = ", ".join(words)
            rows.append(row)
            levels.append(level)
    return Table(
        "containers",
        columns(deployment),
        rows,
        levels,
        empty="no containers of this deployment",
        details=("service", "image_id", "exit_code", "restart_count", "created_at", "finished_at"),  # fit a screen
    )
