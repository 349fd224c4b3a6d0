"""`kamal proxy boot`, and the proxy step of `deploy`: the `kamal` network on every host, then on
proxy hosts the registry login, the version check (Kamal refuses a kamal-proxy older than v0.9.2),
the apps-config directory and `docker container start kamal-proxy || docker run …`.
Two round trips per proxy host, one per other host."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.errors import OperationError
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import (
    Cmd,
    Recorder,
    network_failed,
    planned,
    proxy_boot_first,
    proxy_boot_second,
    send,
)
from kamal_nb.ops.steps import proxy_version_error as version_error


class ProxyBootError(OperationError):
    pass


def plan_proxy_boot(ctx: Context) -> list[PlannedStep]:
    steps: list[PlannedStep] = []
    for host in ctx.selection.hosts:
        steps += planned(host, proxy_boot_first(ctx, host))
        if host in ctx.selection.proxy_hosts:
            steps += planned(host, proxy_boot_second(ctx, host))
    return steps


def boot_proxy(ctx: Context, rec: Recorder, *, before: Mapping[str, Sequence[Cmd]] | None = None) -> bool:
    """Boot kamal-proxy where it runs (the caller holds the lock); False when a host failed.
    `before`: commands a caller sends first, in the same round trip (proxy upgrade's clean-up)."""
    hosts, proxy_hosts = ctx.selection.hosts, ctx.selection.proxy_hosts
    first = {h: [*(before or {}).get(h, ()), *proxy_boot_first(ctx, h)] for h in hosts}
    replies = send(ctx, rec, first)
    for host, reply in replies.items():
        if reply.error is not None:
            continue
        problem = network_failed(reply, len(first[host]) - len(proxy_boot_first(ctx, host)))
        if problem is None and not reply.ok:
            problem = reply.failure
        if problem is None and host in proxy_hosts:
            problem = version_error(reply.out(len(first[host]) - 1))
        if problem:
            rec.fail(host, problem)
    if rec.failures or not all(r.error is None for r in replies.values()):
        return False
    second = send(ctx, rec, {h: proxy_boot_second(ctx, h) for h in proxy_hosts})
    return all(r.ok for r in second.values())


def _plan(ctx: Context, args: Args) -> Plan:
    return Plan("proxy boot", tuple(plan_proxy_boot(ctx)), ("under the deploy lock",))


def _run(ctx: Context, args: Args) -> OperationResult:
    from kamal_nb.ops.boot import run_locked

    return run_locked(ctx, "proxy boot", lambda rec: boot_proxy(ctx, rec))


register(("proxy", "boot"), "Boot proxy on servers", mutating=True, plan=_plan, run=_run)
