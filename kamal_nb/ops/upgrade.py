"""The Kamal 1.x → 2.0 migration as Kamal 2.12 does it (``cli/proxy.rb``, ``cli/accessory.rb``,
``cli/main.rb``):

* ``proxy upgrade [--rolling]``, on every selected host at once (or one at a time): hook
  pre-proxy-reboot; audit, registry login, Traefik stopped and pruned (container and image, by their
  ``org.opencontainers.image.title`` label), kamal-proxy stopped and pruned; then ``proxy boot``,
  ``app boot`` (``--version``, else ``latest``) and ``prune all`` on those hosts; hook
  post-proxy-reboot. The clean-up goes in proxy boot's first round trip.
* ``accessory upgrade NAME|all [--rolling]``: ``accessory reboot`` on the accessory hosts (all at once,
  or one at a time), which runs each accessory again, in the ``kamal`` network.
* ``upgrade [--rolling]``: proxy upgrade, then accessory upgrade all; with ``--rolling``, host by
  host: proxy upgrade where the host runs the app, accessory upgrade where it runs accessories.

Each holds the deploy lock throughout, on the selection's primary host. (Kamal's ``upgrade`` and
``accessory upgrade`` do too; its ``proxy upgrade`` alone takes the lock only inside its proxy boot,
app boot and prune, on the group's first host, so its clean-up runs unlocked: kamal_nb locks it all.)
Kamal runs a group of no hosts on every host (``with_specific_hosts([])`` clears the filter);
kamal_nb runs nothing there.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from kamal_nb.commands import Hook, Proxy
from kamal_nb.engine.run import run_operation
from kamal_nb.ops import accessory
from kamal_nb.ops.audit import audit
from kamal_nb.ops.boot import BootRun, boot, plan_boot, plan_notes
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.errors import Refused
from kamal_nb.ops.hooks import run_hook
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.proxy_boot import boot_proxy, proxy_boot_script
from kamal_nb.ops.prune import prune, prune_script
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.script import Item, Say, Script, flag, plan_script, register_script, run_script, text
from kamal_nb.ops.selection import Selection
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, planned, registry_login

PROXY_OUTAGE = "This will cause a brief outage on each host"
ACCESSORIES_RESTART = "This will restart all accessories"
REPLACE_TRAEFIK = "This will replace Traefik with kamal-proxy and restart all accessories"


def on_hosts(ctx: Context, hosts: Sequence[str], *, version: str | None = None) -> Context:
    """Kamal's ``KAMAL.with_specific_hosts(hosts)``: the same command on these hosts only (the role
    filter kept), optionally seen with another version (``using_version``)."""
    options = ctx.options if version is None else replace(ctx.options, version=version)
    narrowed = ctx.derived(options)
    chosen = ctx.selection.specific_roles
    roles = None if chosen is None else tuple(r for r in narrowed.config.roles if r.name in {c.name for c in chosen})
    narrowed.__dict__["selection"] = Selection(narrowed.config, tuple(hosts), roles)
    if "runner" in ctx.__dict__:  # a runner given to this context (tests) serves the narrowed one too
        narrowed.__dict__["runner"] = ctx.__dict__["runner"]
    return narrowed


def groups(hosts: Sequence[str], rolling: bool) -> list[list[str]]:
    if not hosts:
        return []
    return [[host] for host in hosts] if rolling else [list(hosts)]


def _hook_notes(ctx: Context, *names: str) -> list[str]:
    if ctx.options.skip_hooks:
        return []
    hook = Hook(ctx.config)
    found = [n for n in names if (ctx.session.root / hook.hook_file(n)).exists()]
    return [f"runs hook {n} locally for each group of hosts (KAMAL_HOSTS=the group)" for n in found]


def _lock_note(ctx: Context) -> list[str]:
    return [] if ctx.holding_lock else [f"holds the deploy lock on {ctx.selection.primary_host} throughout"]


# -- proxy upgrade -------------------------------------------------------------------------------------


def cleanup(ctx: Context, host: str) -> list[Cmd]:
    """Traefik and any kamal-proxy stopped and pruned, before kamal-proxy boots."""
    proxy = Proxy(ctx.config, host=host)
    return [
        Cmd(audit(ctx, "Rebooted proxy")),
        *registry_login(ctx),
        Cmd(proxy.cleanup_traefik()),
        Cmd(proxy.stop(), strict=False, note="fails harmlessly when kamal-proxy is not running"),
        Cmd(proxy.remove_container()),
        Cmd(proxy.remove_image()),
    ]


def _version(ctx: Context) -> str:
    return ctx.options.version or ctx.config.latest_tag


def plan_proxy_upgrade(ctx: Context, *, rolling: bool, command: str, subcommand: str | None) -> list[PlannedStep]:
    version = _version(ctx)
    steps: list[PlannedStep] = []
    for group in groups(ctx.selection.hosts, rolling):
        on = on_hosts(ctx, group)
        for host in group:
            steps += planned(host, cleanup(on, host))
        steps += plan_script(on, proxy_boot_script(on)).steps
        steps += plan_boot(
            on_hosts(ctx, group, version=version), BootRun(version, command=command, subcommand=subcommand)
        )
        steps += plan_script(on, prune_script(on)).steps
    return steps


def proxy_upgrade(ctx: Context, rec: Recorder, *, rolling: bool, command: str, subcommand: str | None) -> bool:
    """The proxy upgrade of the selected hosts (the caller holds the lock); False when a host failed."""
    version = _version(ctx)
    for group in groups(ctx.selection.hosts, rolling):
        listed = ",".join(group)
        on = on_hosts(ctx, group)
        rec.say(f"Upgrading proxy on {listed}...")
        run_hook(on, "pre-proxy-reboot", command=command, subcommand=subcommand, hosts=group)
        if not boot_proxy(on, rec, before={host: cleanup(on, host) for host in group}):
            return False
        booted = on_hosts(ctx, group, version=version)
        if not boot(booted, rec, BootRun(version, command=command, subcommand=subcommand)):
            return False
        if not prune(on, rec):
            return False
        run_hook(on, "post-proxy-reboot", command=command, subcommand=subcommand, hosts=group)
        rec.say(f"Upgraded proxy on {listed}")
    return True


def _proxy_upgrade_notes(ctx: Context, question: str = PROXY_OUTAGE) -> list[str]:
    """``question``: what Kamal asks before it starts (``-y`` answers it; here, --yes)."""
    version = _version(ctx)
    return [
        question,
        *_lock_note(ctx),
        f"app boot runs version {version}" + ("" if ctx.options.version else " (no --version given: latest)"),
        *_hook_notes(ctx, "pre-proxy-reboot", "post-proxy-reboot"),
        *plan_notes(on_hosts(ctx, ctx.selection.hosts, version=version)),
    ]


def _proxy_upgrade_plan(ctx: Context, args: Args) -> Plan:
    steps = plan_proxy_upgrade(ctx, rolling=flag(args, "rolling"), command="proxy", subcommand="upgrade")
    return Plan("proxy upgrade", tuple(steps), tuple(_proxy_upgrade_notes(ctx)))


def _proxy_upgrade_run(ctx: Context, args: Args) -> OperationResult:
    rolling = flag(args, "rolling")
    return run_operation(
        ctx,
        "proxy upgrade",
        lambda rec: proxy_upgrade(ctx, rec, rolling=rolling, command="proxy", subcommand="upgrade"),
        lock=True,
    )


# -- accessory upgrade ---------------------------------------------------------------------------------


def accessory_upgrade(ctx: Context, name: str, *, rolling: bool) -> Script:
    """``accessory reboot NAME`` on the accessory hosts, all at once or one at a time."""
    found = accessory.accessories(ctx.config, name, allow_all=True)
    items: list[Item] = []
    for group in groups(ctx.selection.accessory_hosts, rolling):
        on, listed = on_hosts(ctx, group), ",".join(group)
        items.append(Say(f"Upgrading {name} accessories on {listed}..."))
        items += [accessory.reboot(on, a) for a in found]
        items.append(Say(f"Upgraded {name} accessories on {listed}..."))
    return Script("accessory upgrade", tuple(items), lock=True, notes=(ACCESSORIES_RESTART,))


def _accessory_upgrade(ctx: Context, args: Args) -> Script:
    name = text(args, "name")
    if name is None:
        raise Refused("accessory upgrade needs a NAME (or all)")
    return accessory_upgrade(ctx, name, rolling=flag(args, "rolling"))


# -- upgrade -------------------------------------------------------------------------------------------


def _upgrade_steps(ctx: Context, rolling: bool) -> list[tuple[str | None, Context, bool, bool]]:
    """Each step of ``kamal upgrade``: the host (None: all at once), its context, whether it upgrades
    the proxy, and whether it upgrades the accessories."""
    if not rolling:
        return [(None, ctx, True, True)]
    steps: list[tuple[str | None, Context, bool, bool]] = []
    for host in ctx.selection.hosts:
        on = on_hosts(ctx, [host])
        steps.append((host, on, host in on.selection.app_hosts, host in on.selection.accessory_hosts))
    return steps


def upgrade(ctx: Context, rec: Recorder, *, rolling: bool) -> bool:
    """The caller holds the lock."""
    for host, on, proxy, accessories in _upgrade_steps(ctx, rolling):
        rec.say(f"Upgrading {host}..." if host else "Upgrading all hosts...")
        if proxy and not proxy_upgrade(on, rec, rolling=False, command="upgrade", subcommand=None):
            return False
        if accessories and not rec.absorb(run_script(on, accessory_upgrade(on, "all", rolling=False))):
            return False
        rec.say(f"Upgraded {host}" if host else "Upgraded all hosts")
    return True


def _upgrade_plan(ctx: Context, args: Args) -> Plan:
    steps: list[PlannedStep] = []
    for _, on, proxy, accessories in _upgrade_steps(ctx, flag(args, "rolling")):
        if proxy:
            steps += plan_proxy_upgrade(on, rolling=False, command="upgrade", subcommand=None)
        if accessories:
            steps += plan_script(on, accessory_upgrade(on, "all", rolling=False)).steps
    return Plan("upgrade", tuple(steps), tuple(_proxy_upgrade_notes(ctx, REPLACE_TRAEFIK)))


def _upgrade_run(ctx: Context, args: Args) -> OperationResult:
    rolling = flag(args, "rolling")
    return run_operation(ctx, "upgrade", lambda rec: upgrade(ctx, rec, rolling=rolling), lock=True)


register(
    ("proxy", "upgrade"),
    "Upgrade to kamal-proxy on servers (stop container, remove container, start new container, reboot app)",
    mutating=True,
    plan=_proxy_upgrade_plan,
    run=_proxy_upgrade_run,
)
register_script(
    ("accessory", "upgrade"),
    "Upgrade accessories from Kamal 1.x to 2.0 (restart them in 'kamal' network)",
    mutating=True,
    build=_accessory_upgrade,
)
register(("upgrade",), "Upgrade from Kamal 1.x to 2.0", mutating=True, plan=_upgrade_plan, run=_upgrade_run)
