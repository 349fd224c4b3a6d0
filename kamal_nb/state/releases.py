"""The releases table: one row per host and role: what runs now and what a rollback could start."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kamal_nb.state.deployment import Deployment
from kamal_nb.state.releases_logic import RoleRelease, Skew
from kamal_nb.state.states import HEALTHS, STATES, health_of
from kamal_nb.state.table import Column, Level, Table, category, integer, moment, string


def columns(deployment: Deployment) -> list[Column]:
    return [
        string("host"),
        category("role", deployment.role_names),
        string("version"),  # the current version (Kamal's current_running_version)
        string("container"),
        string("container_id"),
        string("image"),
        category("state", STATES, ordered=True),
        category("health", HEALTHS),
        moment("started_at"),
        integer("running"),  # running or restarting containers of the role
        string("stale"),  # other versions still running, newest first
        string("rollback_versions"),  # stopped containers a rollback could start, newest first
        string("status"),
    ]


# in `.df` and `.view(...)`, left out of the text and HTML so the table fits ~100 columns
DETAILS = ("container", "container_id", "image", "started_at", "running")


def build(
    deployment: Deployment, releases: Sequence[RoleRelease], skews: Sequence[Skew], *, fresh: bool = False
) -> Table:
    """`fresh`: nothing of the app runs anywhere yet, so a role with no container is the expected
    state of a new fleet (info), not a failure."""
    odd = {(skew.role, host): skew for skew in skews for host in skew.odd_hosts()}
    rows: list[dict[str, Any]] = []
    levels: list[Level] = []
    for release in releases:
        row: dict[str, Any] = {"host": release.host, "role": release.role}
        problems: list[str] = []
        level: Level = "ok"
        if release.unknown is not None:
            problems.append(release.unknown)
            level = "bad"
        else:
            row |= {
                "running": len(release.active),
                "stale": ",".join(c.version or c.container.name for c in release.stale) or None,
                "rollback_versions": ",".join(release.rollback_versions) or None,
            }
            current = release.current
            if current is None and fresh and not release.rollback_versions and not release.stale:
                problems.append("nothing deployed yet")
                level = "info"
            elif current is None:
                problems.append("no running container")
                level = "bad"
            else:
                c = current.container
                row |= {
                    "version": current.version,
                    "container": c.name,
                    "container_id": c.id[:12],
                    "image": c.image,
                    "state": c.state,
                    "health": health_of(c),
                    "started_at": c.started_at,
                }
                if c.state != "running":
                    problems.append(c.state)
                    level = "bad"
                if c.health == "unhealthy":
                    problems.append("unhealthy")
                    level = "bad"
            skew = odd.get((release.role, release.host))
            if skew is not None:
                majority = skew.majority
                problems.append(f"version skew (role runs {majority})" if majority else "version skew")
                level = "warn" if level == "ok" else level
            if release.stale:
                problems.append(f"stale running: {row['stale']}")
                level = "warn" if level == "ok" else level
        row["status"] = "; ".join(problems) or "ok"
        rows.append(row)
        levels.append(level)
    return Table(
        "releases", columns(deployment), rows, levels, empty="no app roles on the selected hosts", details=DETAILS
    )
