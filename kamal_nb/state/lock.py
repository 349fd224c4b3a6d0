"""The lock table: the deploy lock directory wherever it was found (the primary host, normally)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from kamal_nb.state.deployment import Deployment
from kamal_nb.state.model import HostSnapshot
from kamal_nb.state.table import Column, Level, Table, boolean, duration, format_duration, moment, string

AUTOMATIC_MESSAGE = "Automatic deploy lock"
STALE_LOCK_AFTER = datetime.timedelta(hours=1)


def columns() -> list[Column]:
    return [
        string("host"),
        boolean("primary"),
        string("locked_by"),
        moment("locked_at"),
        string("version"),
        string("message"),
        boolean("automatic"),  # taken by a deploy itself, not by `kamal lock acquire`
        duration("age"),
        string("status"),
    ]


def build(
    deployment: Deployment,
    snapshots: Sequence[HostSnapshot],
    now: datetime.datetime,
    stale_after: datetime.timedelta = STALE_LOCK_AFTER,
) -> Table:
    selected = set(deployment.hosts)
    rows: list[dict[str, Any]] = []
    levels: list[Level] = []
    for snapshot in snapshots:
        lock = snapshot.lock
        if lock is None or snapshot.host not in selected:
            continue
        since = lock.time
        age = now - since if since is not None else None
        words = ["held"]
        level: Level = "warn"
        if not lock.readable:
            words.append("details unreadable")
            level = "bad"
        if age is not None and age > stale_after:
            words.append(f"for {format_duration(age)}: older than {format_duration(stale_after)}")
            level = "bad"
        if snapshot.host != deployment.primary_host:
            words.append("not on the primary host")
        rows.append(
            {
                "host": snapshot.host,
                "primary": snapshot.host == deployment.primary_host,
                "locked_by": lock.locked_by,
                "locked_at": since,
                "version": lock.version,
                "message": lock.message,
                "automatic": lock.message == AUTOMATIC_MESSAGE if lock.readable else None,
                "age": age,
                "status": ", ".join(words),
            }
        )
        levels.append(level)
    return Table("lock", columns(), rows, levels, empty="no deploy lock")
