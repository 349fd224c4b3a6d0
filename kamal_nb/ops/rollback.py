"""`kamal rollback VERSION` (cli/main.rb): under the deploy lock, check that a container of VERSION
exists for every role on every app host (else Kamal's message, and nothing changes), hook
pre-deploy, then `app boot` of VERSION: the stopped container is renamed `<v>_replaced_<hex16>`, a
fresh one runs from the retained image, kamal-proxy switches to it, the running version stops,
and VERSION is tagged latest. Hook post-deploy after the lock is released, if rolled back."""

from __future__ import annotations

import time

from kamal_nb.commands import App
from kamal_nb.engine.run import run_operation
from kamal_nb.ops.arguments import RollbackArguments
from kamal_nb.ops.boot import RUNNING, BootRun, Found, boot, plan_boot, plan_notes, with_version
from kamal_nb.ops.catalog import register
from kamal_nb.ops.deploy import hook_step, lock_plan
from kamal_nb.ops.errors import Refused
from kamal_nb.ops.hooks import hook_may_run, run_hook
from kamal_nb.ops.lock import holding, lock_and_send
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, planned


def _version(args: RollbackArguments) -> str:
    version = str(args.version or "").strip()
    if not version:
        raise Refused("rollback needs a VERSION (see `kamal app containers` for the versions on the hosts)")
    return version


def not_available(version: str) -> str:
    return (
        f"The app version '{version}' is not available as a container "
        "(use 'kamal app containers' for available versions)"
    )


def _availability(ctx: Context, host: str, version: str) -> list[Cmd]:
    return [
        Cmd(App(ctx.config, role=role, host=host, version=version).container_id_for_version(version), strict=False)
        for role in ctx.selection.roles_on(host)
    ]


def _prefetch(ctx: Context, host: str, version: str) -> list[Cmd]:
    """Read with the availability check what the boot reads first (when no pre-deploy hook runs
    in between): each role's current version, and make the env directory."""
    roles = ctx.selection.roles_on(host)
    commands = [Cmd(App(ctx.config, role=r, host=host).current_running_version(), strict=False) for r in roles]
    return [*commands, Cmd(App(ctx.config, role=roles[0], host=host).ensure_env_directory())]


def rollback_steps(ctx: Context, rec: Recorder, version: str) -> bool:
    """True when rolled back; False when the version is missing somewhere or the boot failed."""
    started = time.monotonic()
    seen = with_version(ctx, version)
    hosts = seen.selection.app_hosts
    prefetch = not hook_may_run(seen, "pre-deploy")
    trips = {h: _availability(seen, h, version) + (_prefetch(seen, h, version) if prefetch else []) for h in hosts}
    # the availability check rides on the lock's round trip on the primary host, right after it
    replies, taken = lock_and_send(ctx, rec, trips)
    with holding(ctx, rec, acquired=taken):
        target = with_version(ctx, version)  # seen under the lock: it holds it
        unreachable = {h: r.error for h, r in replies.items() if r.error is not None}
        for host, error in unreachable.items():
            rec.fail(host, error or "unreachable")
        if unreachable:
            return False
        missing = [
            f"{host} ({role.name})"
            for host, reply in replies.items()
            for index, role in enumerate(target.selection.roles_on(host))
            if not reply.out(index)
        ]
        if missing:
            rec.say(f"Error looking for container version {version}: Container not found on {', '.join(missing)}")
            rec.say(not_available(version))
            return False
        prefetched: dict[tuple[str, str], Found] = {}
        for host, reply in replies.items():
            roles = target.selection.roles_on(host)
            if prefetch and reply.ok:
                for index, role in enumerate(roles):
                    running = reply.out(len(roles) + index) or None
                    prefetched[(host, role.name)] = Found((), running, True)
        run_hook(target, "pre-deploy", command="rollback", secrets=True)
        if not boot(target, rec, BootRun(version, command="rollback", subcommand=None, prefetched=prefetched)):
            return False
    runtime = str(round(time.monotonic() - started))
    run_hook(with_version(ctx, version), "post-deploy", command="rollback", secrets=True, runtime=runtime)
    return True


def _plan(ctx: Context, args: RollbackArguments) -> Plan:
    version = _version(args)
    take, release = lock_plan(ctx)
    target = with_version(ctx, version)
    steps: list[PlannedStep] = list(take)
    prefetch = not hook_may_run(target, "pre-deploy")
    for host in ctx.selection.app_hosts:
        for cmd in _availability(target, host, version):
            steps += planned(host, [Cmd(cmd.command, note="must find a container on every host, for every role")])
        if prefetch:
            steps += planned(host, _prefetch(target, host, version))
    steps.append(hook_step("pre-deploy"))
    known = {
        (host, role.name): Found((), RUNNING, True)
        for host in target.selection.app_hosts
        for role in target.selection.roles_on(host)
        if prefetch
    }
    steps += plan_boot(target, BootRun(version, command="rollback", subcommand=None, prefetched=known))
    steps += [*release, hook_step("post-deploy")]
    notes = (f"stops at once, changing nothing, if a container of {version} is missing anywhere", *plan_notes(ctx))
    return Plan(f"rollback {version}", tuple(steps), notes)


def _run(ctx: Context, args: RollbackArguments) -> OperationResult:
    version = _version(args)
    return run_operation(ctx, "rollback", lambda rec: rollback_steps(ctx, rec, version))


register(("rollback",), "Rollback app to VERSION", mutating=True, plan=_plan, run=_run, arguments=RollbackArguments)
