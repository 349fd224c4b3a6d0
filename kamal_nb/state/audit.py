"""The audit table: the tail of each host's audit log, parsed, merged across hosts by time."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kamal_nb.state.deployment import Deployment
from kamal_nb.state.model import AuditEntry, HostSnapshot
from kamal_nb.state.table import Column, Level, Table, category, integer, moment, string


def columns(deployment: Deployment) -> list[Column]:
    return [
        moment("recorded_at"),
        string("host"),
        string("performer"),
        string("destination"),
        category("role", deployment.role_names),
        string("details"),  # any further bracketed tags
        string("message"),
        integer("line"),  # position in the host's log tail (1 = oldest shown)
        string("status"),
    ]


def split_tags(deployment: Deployment, entry: AuditEntry) -> tuple[str | None, str | None, str | None]:
    """(destination, role, other tags) from an entry's tags: Kamal writes the destination first when
    there is one, then details such as the role."""
    tags = list(entry.tags)
    destination = None
    if deployment.destination and tags and tags[0] == deployment.destination:
        destination = tags.pop(0)
    role = None
    if tags and tags[0] in deployment.role_names:
        role = tags.pop(0)
    return destination, role, " ".join(f"[{t}]" for t in tags) or None


def build(deployment: Deployment, snapshots: Sequence[HostSnapshot]) -> Table:
    order = {h: i for i, h in enumerate(deployment.hosts)}
    items: list[tuple[Any, ...]] = []
    for snapshot in snapshots:
        if snapshot.host not in order:
            continue
        for position, entry in enumerate(snapshot.audit, start=1):
            when = entry.recorded_at
            key = (when is None, when.timestamp() if when else 0.0, order[snapshot.host], position)
            items.append((key, snapshot.host, position, entry))
    items.sort(key=lambda item: item[0])
    rows: list[dict[str, Any]] = []
    levels: list[Level] = []
    for _, host, position, entry in items:
        if not entry.parsed:
            rows.append({"host": host, "message": entry.line, "line": position, "status": "unparsed line"})
            levels.append("warn")
            continue
        destination, role, details = split_tags(deployment, entry)
        rows.append(
            {
                "recorded_at": entry.recorded_at,
                "host": host,
                "performer": entry.performer,
                "destination": destination,
                "role": role,
                "details": details,
                "message": entry.message,
                "line": position,
                "status": "ok",
            }
        )
        levels.append("ok")
    return Table("audit", columns(deployment), rows, levels, empty="no audit lines on the selected hosts")
