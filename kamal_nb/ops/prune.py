"""`kamal prune all | images | containers [--retain N]` on every host (accessory hosts included):
stopped app containers beyond the newest `retain_containers` (5), dangling images, and tagged images
no container uses (never `<repo>:latest`). One round trip per host."""

from __future__ import annotations

from kamal_nb.commands import Prune
from kamal_nb.engine.errors import Refused
from kamal_nb.engine.run import play
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import Do, Phase, Script, register_script
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Recorder


def retain_of(ctx: Context, args: Args) -> int:
    retain = args.get("retain")
    value = ctx.config.retain_containers if retain is None else int(retain)
    if value < 1:
        raise Refused("retain must be at least 1")
    return value


def prune_script(
    ctx: Context, name: str = "all", *, containers: bool = True, images: bool = True, retain: int | None = None
) -> Script:
    prune = Prune(ctx.config)
    actions: list[Do] = []
    if containers:
        retained = retain or ctx.config.retain_containers
        actions += [Do(audit(ctx, "Pruned containers")), Do(prune.app_containers(retain=retained))]
    if images:
        actions += [Do(audit(ctx, "Pruned images")), Do(prune.dangling_images()), Do(prune.tagged_images())]
    return Script(f"prune {name}", (Phase({host: tuple(actions) for host in ctx.selection.hosts}),), lock=True)


def prune(ctx: Context, rec: Recorder) -> bool:
    """`prune all` inside another operation (deploy); False when a host failed."""
    return play(ctx, rec, prune_script(ctx))


def _operation(name: str, containers: bool, images: bool, summary: str) -> None:
    def build(ctx: Context, args: Args) -> Script:
        retain = retain_of(ctx, args) if containers else None
        return prune_script(ctx, name, containers=containers, images=images, retain=retain)

    register_script(("prune", name), summary, mutating=True, build=build)


_operation("all", True, True, "Prune unused images and stopped containers")
_operation("images", False, True, "Prune unused images")
_operation("containers", True, False, "Prune all stopped containers, except the last n (default 5)")
