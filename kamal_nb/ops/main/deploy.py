"""`kamal deploy` and `kamal redeploy` (cli/main.rb), step for step, as one engine script:

build push (Docker SDK) + pull, or pull only with `-P` (`skip_push`); then under the deploy lock:
hook pre-deploy → proxy boot (deploy only) → accessories (setup only) → stale containers stopped →
app boot → prune all (deploy only); the lock is released, then hook post-deploy (KAMAL_RUNTIME).

The pull also runs `mkdir -p .kamal` (the lock's first step) in its round trip, and on the primary
host it takes the lock right after the pull (Kamal too takes the lock once the pull is done), so
taking the lock costs no round trip of its own. Unless a pre-deploy hook may change things first,
the primary's boot reads ride along once it is locked.
"""

from __future__ import annotations

from dataclasses import replace

from kamal_nb.engine.hooks import hook_may_run
from kamal_nb.engine.script import Call, Hold, Invoke
from kamal_nb.ops.app.boot import BootRun, boot_reads, boot_script
from kamal_nb.ops.arguments import DeployArguments
from kamal_nb.ops.build.deliver import pull_items, push_image, push_shown
from kamal_nb.ops.lock.deploy_lock import automatic_acquire, lock_held_elsewhere
from kamal_nb.ops.proxy.boot import proxy_boot_script
from kamal_nb.ops.prune import prune_script
from kamal_nb.ops.script import Do, Item, RunHook, Say, Script, register_script
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Recorder

LOCK = "deploy lock"  # the acquire's answer, when it rides in the pull's round trip


def _accessories(ctx: Context) -> Script:
    """`kamal accessory boot all`, as kamal_nb.ops.accessory scripts it."""
    from kamal_nb.ops.accessory import _boot

    return _boot(ctx, {"name": "all"})


def deploy_script(
    ctx: Context,
    *,
    operation: str,
    skip_push: bool,
    no_cache: bool,
    full: bool,
    accessories: bool = False,
    locked_by_caller: bool = False,
) -> Script:
    """The deploy (`full`) or redeploy sequence (inside `setup`'s lock with `locked_by_caller`)."""
    hosts, app_hosts, primary = ctx.selection.hosts, ctx.selection.app_hosts, ctx.selection.primary_host
    held = locked_by_caller or lock_held_elsewhere(ctx)
    covered = set(hosts) <= set(app_hosts) and not held
    fold = covered and primary in app_hosts
    run = BootRun(ctx.version, stale=True, command=operation, subcommand=None)
    then: dict[str, tuple[Do, ...]] = {}
    if fold and primary is not None:
        acquire = Do(automatic_acquire(ctx), tolerate=True, capture=LOCK, stop_on="failure", note="fails if held")
        # waiting for a held lock (--lock-wait) happens after the pull: the boot reads its own then
        ride = not hook_may_run(ctx, "pre-deploy") and not ctx.options.lock_wait
        reads = [replace(r, note=r.note or "read once the lock is taken") for r in boot_reads(ctx, run, primary)]
        then[primary] = (acquire, *(reads if ride else ()))
        if ride:
            run = replace(run, read_before=frozenset({primary}))
    items: list[Item] = []
    if not skip_push:

        def push(rec: Recorder) -> bool:
            push_image(ctx, rec, no_cache=no_cache, command=operation)
            return True

        items.append(Call(tuple(push_shown(ctx)), push))
    locked: list[Item] = [RunHook("pre-deploy", None, operation, secrets=True)]
    if full:
        locked += [Say("Ensure kamal-proxy is running..."), Invoke(proxy_boot_script(ctx))]
    if accessories and ctx.config.accessories:
        locked.append(Invoke(_accessories(ctx)))
    locked += [Say("Detect stale containers..."), Invoke(boot_script(ctx, run, operation))]
    if full:
        locked += [Say("Prune old containers and images..."), Invoke(prune_script(ctx))]
    before = pull_items(ctx, ensure_run_directory=covered, then=then)
    items.append(Hold(tuple(locked), before, taken=LOCK if fold else None, ensured=covered))
    items.append(RunHook("post-deploy", None, operation, secrets=True, runtime=True))
    notes = ("commands of a host that do not depend on each other's answers go in one round trip",)
    # the result's data: whether it ran to its end
    return Script(operation, tuple(items), notes=notes, check_secrets=True, conclude=lambda answers, done: done)


def _deploy_operation(name: str, full: bool, summary: str) -> None:
    def build(ctx: Context, args: DeployArguments) -> Script:
        return deploy_script(ctx, operation=name, skip_push=args.skip_push, no_cache=args.no_cache, full=full)

    register_script((name,), summary, mutating=True, build=build, arguments=DeployArguments)


_deploy_operation("deploy", True, "Deploy app to servers")
_deploy_operation(
    "redeploy", False, "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning"
)
