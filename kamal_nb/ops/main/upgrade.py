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
from kamal_nb.engine.errors import Refused
from kamal_nb.engine.script import Invoke
from kamal_nb.ops import accessory
from kamal_nb.ops.app.boot import BootRun, boot_script, plan_notes
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.proxy.boot import proxy_boot_script
from kamal_nb.ops.prune import prune_script
from kamal_nb.ops.script import Item, RunHook, Say, Script, flag, register_script, text
from kamal_nb.ops.selection import Selection
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, registry_login

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


def proxy_upgrade_script(ctx: Context, *, rolling: bool, command: str, subcommand: str | None) -> Script:
    """The proxy upgrade of the selected hosts, group by group."""
    version = _version(ctx)
    items: list[Item] = []
    for group in groups(ctx.selection.hosts, rolling):
        listed = ",".join(group)
        on = on_hosts(ctx, group)
        booted = on_hosts(ctx, group, version=version)
        hooks = (RunHook("pre-proxy-reboot", tuple(group), command, subcommand),)
        after = (RunHook("post-proxy-reboot", tuple(group), command, subcommand),)
        items += [
            Say(f"Upgrading proxy on {listed}..."),
            Invoke(Script(command, hooks), on),
            Invoke(proxy_boot_script(on, before={host: cleanup(on, host) for host in group}), on),
            Invoke(boot_script(booted, BootRun(version, command=command, subcommand=subcommand)), booted),
            Invoke(prune_script(on), on),
            Invoke(Script(command, after), on),
            Say(f"Upgraded proxy on {listed}"),
        ]
    return Script("proxy upgrade", tuple(items), lock=True, notes=tuple(_proxy_upgrade_notes(ctx)), check_secrets=True)


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


def _proxy_upgrade(ctx: Context, args: Args) -> Script:
    return proxy_upgrade_script(ctx, rolling=flag(args, "rolling"), command="proxy", subcommand="upgrade")


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


def upgrade_script(ctx: Context, *, rolling: bool) -> Script:
    items: list[Item] = []
    for host, on, proxy, accessories in _upgrade_steps(ctx, rolling):
        items.append(Say(f"Upgrading {host}..." if host else "Upgrading all hosts..."))
        if proxy:
            items.append(Invoke(proxy_upgrade_script(on, rolling=False, command="upgrade", subcommand=None), on))
        if accessories:
            items.append(Invoke(accessory_upgrade(on, "all", rolling=False), on))
        items.append(Say(f"Upgraded {host}" if host else "Upgraded all hosts"))
    notes = tuple(_proxy_upgrade_notes(ctx, REPLACE_TRAEFIK))
    return Script("upgrade", tuple(items), lock=True, notes=notes, check_secrets=True)


def _upgrade(ctx: Context, args: Args) -> Script:
    return upgrade_script(ctx, rolling=flag(args, "rolling"))


register_script(
    ("proxy", "upgrade"),
    "Upgrade to kamal-proxy on servers (stop container, remove container, start new container, reboot app)",
    mutating=True,
    build=_proxy_upgrade,
)
register_script(
    ("accessory", "upgrade"),
    "Upgrade accessories from Kamal 1.x to 2.0 (restart them in 'kamal' network)",
    mutating=True,
    build=_accessory_upgrade,
)
register_script(("upgrade",), "Upgrade from Kamal 1.x to 2.0", mutating=True, build=_upgrade)
