"""`kamal deploy` and `kamal redeploy` (cli/main.rb), step for step:

build push (Docker SDK) + pull, or pull only with `-P` (`skip_push`); then under the deploy lock:
hook pre-deploy → proxy boot (deploy only) → accessories (setup only) → stale containers stopped →
app boot → prune all (deploy only); the lock is released, then hook post-deploy (KAMAL_RUNTIME).

The pull also runs `mkdir -p .kamal` (the lock's first step) in its round trip, so taking the lock
costs one round trip on the primary host only.
"""

from __future__ import annotations

import time
from dataclasses import replace

from kamal_nb.commands import Lock, Server
from kamal_nb.commands.lock import AUTOMATIC_MESSAGE
from kamal_nb.engine.run import run_operation
from kamal_nb.ops.arguments import DeployArguments
from kamal_nb.ops.boot import BootRun, Found, boot, found_in, host_reads, plan_boot, plan_notes
from kamal_nb.ops.build import _push_plan, plan_pull, pull_image, push_image
from kamal_nb.ops.catalog import lookup, register
from kamal_nb.ops.hooks import LOCAL, hook_may_run, run_hook
from kamal_nb.ops.lock import (
    LockError,
    automatic_acquire,
    holding,
    lock_held_elsewhere,
    read_status,
    refused,
    release_lock,
)
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.proxy_boot import boot_proxy, proxy_boot_script
from kamal_nb.ops.prune import prune, prune_script
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.script import plan_script
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, Reply, planned


def lock_plan(ctx: Context, *, ensured: bool = False) -> tuple[list[PlannedStep], list[PlannedStep]]:
    """The steps that take and release the deploy lock."""
    primary = ctx.selection.primary_host
    if primary is None or ctx.holding_lock:
        return [], []
    lock = Lock(ctx.config)
    acquire = lock.acquire(
        AUTOMATIC_MESSAGE, ctx.version, locked_by=ctx.session.lock_holder, locked_at=ctx.session.now()
    )
    take = [] if ensured else [PlannedStep(h, Server(ctx.config).ensure_run_directory()) for h in ctx.selection.hosts]
    take.append(PlannedStep(primary, acquire, note="fails if the deploy lock is held"))
    return take, [PlannedStep(primary, lock.release())]


def hook_step(name: str) -> PlannedStep:
    return PlannedStep(LOCAL, f".kamal/hooks/{name}", note="if the hook exists (not with -H)")


def _accessory_boot(ctx: Context, rec: Recorder) -> bool:
    """`kamal accessory boot all`, through the catalog (kamal_nb.ops.accessory)."""
    return not ctx.config.accessories or rec.absorb(lookup(("accessory", "boot")).ran(ctx, {"name": "all"}))


def deploy_steps(
    ctx: Context, rec: Recorder, *, command: str, skip_push: bool, no_cache: bool, full: bool, accessories: bool = False
) -> bool:
    """The deploy (`full`) or redeploy sequence; the caller follows the events and handles interrupts."""
    started = time.monotonic()
    if not skip_push:
        push_image(ctx, rec, no_cache=no_cache, command=command)
    # The pull's round trip also runs the lock's `mkdir -p .kamal` when it covers every host, and
    # on the primary host it takes the lock right after the pull: Kamal too takes the lock once the
    # pull is done, and this spares the primary a round trip before the boot can start. Unless a
    # pre-deploy hook may change things first, the primary's boot reads ride along once it is locked.
    covered = set(ctx.selection.hosts) <= set(ctx.selection.app_hosts) and not ctx.holding_lock
    primary = ctx.selection.primary_host
    fold = covered and primary in ctx.selection.app_hosts and not lock_held_elsewhere(ctx)
    run = BootRun(ctx.version, stale=True, command=command, subcommand=None)
    then: dict[str, list[Cmd]] = {}
    if fold and primary:
        reads = [] if hook_may_run(ctx, "pre-deploy") else host_reads(ctx, run, primary)
        then[primary] = [Cmd(automatic_acquire(ctx), strict=False, stop_on="failure"), *reads]
    answers: dict[str, Reply] = {}
    pulled = pull_image(ctx, rec, ensure_run_directory=covered, then=then, answers=answers)
    taken, problem = False, None
    if then and primary in answers:
        reply = answers[primary]
        code = reply.code(0)  # None: the pull failed there and the lock was never tried
        taken = code == 0  # even if what followed failed: the lock is ours to release
        if code not in (None, 0) and not refused(reply.err(0)):
            problem = f"taking the deploy lock on {primary} failed: {reply.err(0) or f'exit {code}'}"
        elif code not in (None, 0) and not ctx.options.lock_wait:
            problem = "Deploy lock found. Run 'kamal lock help' for more information"
        elif taken and len(then[primary]) > 1 and reply.ok:
            run = replace(run, prefetched=found_in(ctx, run, primary, reply.part(1)))
    if not pulled:  # Kamal reports a failed pull before it ever tries the lock
        if taken:
            release_lock(ctx)
        return False
    if problem is not None:
        raise LockError(problem, read_status(ctx) if problem.startswith("Deploy lock found") else None)
    ok = False
    with holding(ctx, rec, ensure_run_directory=not covered, acquired=taken):
        run_hook(ctx, "pre-deploy", command=command, secrets=True)
        if full:
            rec.say("Ensure kamal-proxy is running...")
            if not boot_proxy(ctx, rec):
                return False
        if accessories and not _accessory_boot(ctx, rec):
            return False
        rec.say("Detect stale containers...")
        if not boot(ctx, rec, run):
            return False
        if full:
            rec.say("Prune old containers and images...")
            if not prune(ctx, rec):
                return False
        ok = True
    run_hook(ctx, "post-deploy", command=command, secrets=True, runtime=str(round(time.monotonic() - started)))
    return ok


def deploy_plan(ctx: Context, *, operation: str, skip_push: bool, full: bool, accessories: bool = False) -> Plan:
    covered = set(ctx.selection.hosts) <= set(ctx.selection.app_hosts)
    take, release = lock_plan(ctx, ensured=covered)
    steps = [] if skip_push else _push_plan(ctx)
    steps += plan_pull(ctx, ensure_run_directory=covered and not ctx.holding_lock)
    steps += take
    run = BootRun(ctx.version, stale=True, command=operation)
    primary = ctx.selection.primary_host
    if take and primary in ctx.selection.app_hosts and not hook_may_run(ctx, "pre-deploy"):
        reads = host_reads(ctx, run, primary)
        steps += [replace(step, note=step.note or "read once the lock is taken") for step in planned(primary, reads)]
        run = replace(
            run, prefetched={(primary, r.name): Found((), None, False) for r in ctx.selection.roles_on(primary)}
        )
    steps.append(hook_step("pre-deploy"))
    if full:
        steps += plan_script(ctx, proxy_boot_script(ctx)).steps
    if accessories and ctx.config.accessories:
        steps.append(PlannedStep(LOCAL, "kamal accessory boot all", note="see `plan accessory boot all`"))
    steps += plan_boot(ctx, run)
    if full:
        steps += plan_script(ctx, prune_script(ctx)).steps
    steps += [*release, hook_step("post-deploy")]
    notes = [
        "commands of a host that do not depend on each other's answers go in one round trip",
        "env files are uploaded with mode 0600",
        *plan_notes(ctx),
    ]
    return Plan(operation, tuple(steps), tuple(notes))


def _deploy_operation(name: str, full: bool, summary: str) -> None:
    def plan(ctx: Context, args: DeployArguments) -> Plan:
        return deploy_plan(ctx, operation=name, skip_push=args.skip_push, full=full)

    def run(ctx: Context, args: DeployArguments) -> OperationResult:
        return run_operation(
            ctx,
            name,
            lambda rec: deploy_steps(
                ctx, rec, command=name, skip_push=args.skip_push, no_cache=args.no_cache, full=full
            ),
        )

    register((name,), summary, mutating=True, plan=plan, run=run, arguments=DeployArguments)


_deploy_operation("deploy", True, "Deploy app to servers")
_deploy_operation(
    "redeploy", False, "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning"
)
