"""Kamal's common steps, as round trips for the engine (kamal_nb.engine.trips): the registry login,
the `kamal` network, the two round trips of `proxy boot`, and the proxy version check.

The engine's round-trip and record types are re-exported here for the operation modules.
"""

from __future__ import annotations

from collections.abc import Sequence

from kamal_nb.commands import Docker, Proxy, Registry
from kamal_nb.commands.proxy_paths import MINIMUM_VERSION
from kamal_nb.engine.context import RunContext as Context
from kamal_nb.engine.plan import PlannedStep
from kamal_nb.engine.record import Interrupted, OperationInterrupted, Recorder, tracking
from kamal_nb.engine.trips import Cmd, GuardedBatch, Reply, Tolerated, Trip, round_trip, tolerated
from kamal_nb.fleet import Upload


def registry_login(ctx: Context) -> list[Cmd]:
    """`docker login <server> -u <user> -p [REDACTED]` (nothing for a local registry)."""
    login = Registry(ctx.config).login()
    return [Cmd(login)] if login is not None else []


def network_create(ctx: Context) -> Cmd:
    """`docker network create kamal`: "already exists" is not a failure (check with `network_failed`)."""
    return Cmd(Docker(ctx.config).create_network(), strict=False, note='"already exists" is fine')


def network_failed(reply: Reply, index: int) -> str | None:
    """Why `docker network create kamal` (command `index` of the reply) really failed, or None."""
    code = reply.code(index)
    if code in (None, 0) or "already exists" in reply.err(index) + reply.out(index):
        return None
    return f"`docker network create kamal` exited {code}: {reply.err(index) or reply.out(index)}"


def proxy_boot_first(ctx: Context, host: str) -> list[Cmd]:
    """First round trip of `proxy boot` on a host: the network, and on proxy hosts the registry
    login and the running kamal-proxy's version (checked with `proxy_version_error`)."""
    commands = [network_create(ctx)]
    if host in ctx.config.proxy_hosts:
        commands += registry_login(ctx)
        commands.append(Cmd(Proxy(ctx.config, host=host).version(), strict=False, note="empty if not running"))
    return commands


def proxy_boot_second(ctx: Context, host: str) -> list[Cmd]:
    """Second round trip on proxy hosts: apps-config directory, then start or run kamal-proxy."""
    proxy = Proxy(ctx.config, host=host)
    return [Cmd(proxy.ensure_apps_config_directory()), Cmd(proxy.start_or_run())]


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.lstrip("v").split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def proxy_version_error(version: str) -> str | None:
    """Kamal refuses a kamal-proxy older than its minimum version."""
    version = version.strip()
    if version and _version_key(version) < _version_key(MINIMUM_VERSION):
        return (
            f"kamal-proxy version {version} is too old, run `kamal proxy reboot` in order to update to at least "
            f"{MINIMUM_VERSION}"
        )
    return None


def planned(host: str, commands: Sequence[Cmd] | Upload, role: str | None = None) -> list[PlannedStep]:
    """Plan lines for a round trip: one line per command, with its note."""
    if isinstance(commands, Upload):
        return [PlannedStep(host, commands, role)]
    return [PlannedStep(host, c.command, role, c.note) for c in commands]


__all__ = [
    "Cmd",
    "GuardedBatch",
    "Interrupted",
    "OperationInterrupted",
    "Recorder",
    "Reply",
    "Tolerated",
    "Trip",
    "network_create",
    "network_failed",
    "planned",
    "proxy_boot_first",
    "proxy_boot_second",
    "proxy_version_error",
    "registry_login",
    "round_trip",
    "tolerated",
    "tracking",
]
