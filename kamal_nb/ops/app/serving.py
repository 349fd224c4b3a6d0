"""Which of a role's containers kamal-proxy routes to on a host, so that it is never stopped before
another one is healthy behind the proxy.

Kamal stops every running version but the newest as stale. After an interrupted same-version
redeploy the newest (`<v>`, booted but never switched to) is not the one serving: the proxy still
routes to `<v>_replaced_<hex>`, which Kamal would stop, leaving the host serving nothing if the new
version then fails its health check. kamal_nb asks kamal-proxy (`kamal-proxy list`: its target is
`<container id>:<port>`) and the role's containers (`docker ps`: id and name), and keeps that one
until a new version is healthy behind the proxy. When either read fails (no proxy on the host, a
role without one), nothing is known to serve and Kamal's stops are kept as they are.
"""

from __future__ import annotations

import re

from kamal_nb.commands import App
from kamal_nb.ops.script import Answers, Do, answer, answered_ok

ROUTES = "proxy routes"
CONTAINERS = "container ids"
KEPT_NOTE = "except the one kamal-proxy routes to: kept until a new version is healthy behind the proxy"

_TARGET = re.compile(r"^([^\s:/,]+):\d+$")


def serving_reads(app: App, role: str) -> list[Do]:
    """The two reads (tolerated: a host without kamal-proxy answers nothing) for `serving_version`."""
    return [
        Do(app.routes(), role=role, tolerate=True, capture=f"{role} {ROUTES}", note="which container serves"),
        Do(app.list_container_ids(), role=role, tolerate=True, capture=f"{role} {CONTAINERS}"),
    ]


def route_targets(listing: str, service: str) -> list[str]:
    """The container ids (or names) kamal-proxy's `list` routes `service` to. Columns are Service,
    Host, Path, Target, State, TLS; Host and Path may be empty, so the target is found by its form
    (`<id>:<port>`, several joined by commas), not its column."""
    targets = []
    for line in listing.splitlines():
        cells = line.split()
        if not cells or cells[0] != service:
            continue
        for cell in cells[1:]:
            for part in cell.split(","):
                found = _TARGET.match(part)
                if found:
                    targets.append(found.group(1))
    return targets


def serving_version(answers: Answers, host: str, app: App) -> str | None:
    """The version (as Kamal names it: what follows `<service>-<role>[-<dest>]-`) of the container
    kamal-proxy routes the role to on `host`; None when nothing is known to serve."""
    role = app.role.name
    if not (answered_ok(answers, host, f"{role} {ROUTES}") and answered_ok(answers, host, f"{role} {CONTAINERS}")):
        return None
    targets = route_targets(answer(answers, host, f"{role} {ROUTES}"), app.role.container_prefix)
    prefix = f"{app.role.container_prefix}-"
    for line in answer(answers, host, f"{role} {CONTAINERS}").splitlines():
        container_id, _, name = line.strip().partition(" ")
        if not name.startswith(prefix):
            continue
        for target in targets:
            # Kamal targets the short id (12 hex); a longer or shorter form of the same id matches too
            if target == name or (
                len(target) >= 12 and (container_id.startswith(target) or target.startswith(container_id))
            ):
                return name.removeprefix(prefix)
    return None


def kept_line(host: str, role: str, version: str) -> str:
    return (
        f"{host}: Keeping stale container for role {role} with version {version}: kamal-proxy routes to it "
        "(stopped once a new version is healthy behind the proxy)"
    )


__all__ = ["KEPT_NOTE", "kept_line", "route_targets", "serving_reads", "serving_version"]
