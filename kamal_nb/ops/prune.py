"""`kamal prune all | images | containers [--retain N]` on every host (accessory hosts included):
stopped app containers beyond the newest `retain_containers` (5), dangling images, and tagged images
no container uses (never `<repo>:latest`). One round trip per host."""

from __future__ import annotations

from kamal_nb.commands import Prune
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.errors import Refused
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, planned, send


def retain_of(ctx: Context, args: Args) -> int:
    retain = args.get("retain")
    value = ctx.config.retain_containers if retain is None else int(retain)
    if value < 1:
        raise Refused("retain must be at least 1")
    return value


def prune_commands(ctx: Context, *, containers: bool, images: bool, retain: int) -> list[Cmd]:
    prune = Prune(ctx.config)
    commands: list[Cmd] = []
    if containers:
        commands += [Cmd(audit(ctx, "Pruned containers")), Cmd(prune.app_containers(retain=retain))]
    if images:
        commands += [Cmd(audit(ctx, "Pruned images")), Cmd(prune.dangling_images()), Cmd(prune.tagged_images())]
    return commands


def plan_prune(
    ctx: Context, *, containers: bool = True, images: bool = True, retain: int | None = None
) -> list[PlannedStep]:
    commands = prune_commands(ctx, containers=containers, images=images, retain=retain or ctx.config.retain_containers)
    return [step for host in ctx.selection.hosts for step in planned(host, commands)]


def prune(
    ctx: Context, rec: Recorder, *, containers: bool = True, images: bool = True, retain: int | None = None
) -> bool:
    commands = prune_commands(ctx, containers=containers, images=images, retain=retain or ctx.config.retain_containers)
    replies = send(ctx, rec, {host: commands for host in ctx.selection.hosts})
    return all(r.ok for r in replies.values())


def _operation(name: str, containers: bool, images: bool, summary: str) -> None:
    def plan(ctx: Context, args: Args) -> Plan:
        retain = retain_of(ctx, args) if containers else None
        steps = plan_prune(ctx, containers=containers, images=images, retain=retain)
        return Plan(f"prune {name}", tuple(steps), ("under the deploy lock",))

    def run(ctx: Context, args: Args) -> OperationResult:
        from kamal_nb.ops.boot import run_locked

        retain = retain_of(ctx, args) if containers else None
        return run_locked(
            ctx, f"prune {name}", lambda rec: prune(ctx, rec, containers=containers, images=images, retain=retain)
        )

    register(("prune", name), summary, mutating=True, plan=plan, run=run)


_operation("all", True, True, "Prune unused images and stopped containers")
_operation("images", False, True, "Prune unused images")
_operation("containers", True, False, "Prune all stopped containers, except the last n (default 5)")
