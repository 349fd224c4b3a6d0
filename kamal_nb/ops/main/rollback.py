"""`kamal rollback VERSION` (cli/main.rb), as one engine script: under the deploy lock, check that
a container of VERSION exists for every role on every app host (else Kamal's message, and nothing
changes), hook pre-deploy, then `app boot` of VERSION: the stopped container is renamed
`<v>_replaced_<hex16>`, a fresh one runs from the retained image, kamal-proxy switches to it, the
running version stops, and VERSION is tagged latest. Hook post-deploy after the lock is released,
if rolled back.

The availability check rides on the lock's own round trip on the primary host, right after it; the
other hosts' go with their `mkdir -p .kamal`, at the same time. Unless a pre-deploy hook may change things first, the
boot's first reads (each role's current version, the env directory) go with it."""

from __future__ import annotations

from kamal_nb.commands import App, Server
from kamal_nb.engine.errors import Refused
from kamal_nb.engine.hooks import hook_may_run
from kamal_nb.engine.script import Hold, Invoke
from kamal_nb.ops.app.boot import BootRun, boot_script, key, with_version
from kamal_nb.ops.arguments import RollbackArguments
from kamal_nb.ops.lock.deploy_lock import automatic_acquire, lock_held_elsewhere
from kamal_nb.ops.script import Action, Answers, Do, Gate, Item, Phase, RunHook, Script, Verdict, register_script
from kamal_nb.ops.session import Context

LOCK = "deploy lock"


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


def _checks(ctx: Context, host: str, version: str, prefetch: bool) -> list[Action]:
    """Each role's container of VERSION (captured as the boot's clash answer: it exists, so it is
    renamed), and with `prefetch` each role's current version and the env directory."""
    roles = ctx.selection.roles_on(host)
    note = "must find a container on every host, for every role"
    actions: list[Action] = [
        Do(
            App(ctx.config, role=r, host=host, version=version).container_id_for_version(version),
            tolerate=True,
            capture=key(r.name, "clash"),
            note=note,
        )
        for r in roles
    ]
    if prefetch:
        actions += [
            Do(
                App(ctx.config, role=r, host=host).current_running_version(),
                tolerate=True,
                capture=key(r.name, "running"),
            )
            for r in roles
        ]
        actions.append(Do(App(ctx.config, role=roles[0], host=host).ensure_env_directory()))
    return actions


def rollback_script(ctx: Context, args: RollbackArguments) -> Script:
    version = _version(args)
    target = with_version(ctx, version)
    hosts, primary = target.selection.app_hosts, target.selection.primary_host
    fold = not lock_held_elsewhere(ctx) and not ctx.options.lock_wait  # waiting takes round trips of its own
    prefetch = fold and not hook_may_run(target, "pre-deploy")
    checks = {h: _checks(target, h, version, prefetch) for h in hosts}
    before: list[Item] = []
    if fold:
        ensure = Do(Server(ctx.config).ensure_run_directory())
        acquire = Do(automatic_acquire(ctx), tolerate=True, capture=LOCK, stop_on="failure", note="fails if held")
        # one phase: the other hosts' checks (reads, and idempotent mkdirs) go while the primary
        # takes the lock, as a deploy's pull does; nothing there changes before the lock is held
        before.append(
            Phase(
                {
                    h: (ensure, acquire, *checks.get(h, ())) if h == primary else (ensure, *checks.get(h, ()))
                    for h in ctx.selection.hosts
                }
            )
        )
        checked: list[Item] = []
    else:
        checked = [Phase({h: tuple(checks[h]) for h in hosts})]

    def available(answers: Answers) -> Verdict:
        missing = [
            f"{host} ({role.name})"
            for host in hosts
            for role in target.selection.roles_on(host)
            if not answers.get(host, {}).get(key(role.name, "clash"), None)
            or not answers[host][key(role.name, "clash")].stdout.strip()
        ]
        if not missing:
            return Verdict()
        found = f"Error looking for container version {version}: Container not found on {', '.join(missing)}"
        return Verdict(message=found, messages=(not_available(version),), stop=True)

    run = BootRun(version, command="rollback", subcommand=None, read_before=frozenset(hosts if prefetch else ()))
    locked = (
        *checked,
        Gate(available, f"stops at once, changing nothing, if a container of {version} is missing anywhere"),
        # hooks and boot see VERSION (Kamal sets it once the lock is taken)
        Invoke(Script("rollback", (RunHook("pre-deploy", None, "rollback", secrets=True),)), target),
        Invoke(boot_script(target, run, "rollback"), target),
    )
    post = RunHook("post-deploy", None, "rollback", secrets=True, runtime=True)
    items = (
        Hold(locked, tuple(before), taken=LOCK if fold else None, ensured=fold),
        Invoke(Script("", (post,)), target),
    )
    return Script("rollback", items, check_secrets=True, conclude=lambda answers, done: done)


def _build(ctx: Context, args: RollbackArguments) -> Script:
    return rollback_script(ctx, args)


register_script(("rollback",), "Rollback app to VERSION", mutating=True, build=_build, arguments=RollbackArguments)
