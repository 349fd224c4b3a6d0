"""``kamal registry login|logout [-L] [-R]`` (``lib/kamal/cli/registry.rb``): ``docker login`` or
``docker logout`` on this machine (unless ``skip_local``) and on every selected host (unless
``skip_remote``). The password goes on the wire only; plans, results and events show it redacted.
"""

from __future__ import annotations

from kamal_nb.commands import Registry
from kamal_nb.commands.base import Base
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.errors import Refused
from kamal_nb.ops.script import Do, Item, Local, Phase, Script, Section, flag, register_script
from kamal_nb.ops.session import Context

DOCKER_MISSING_LOCALLY = "Docker is not installed locally (or its buildx plugin is missing)"


def login_phase(ctx: Context, hosts: tuple[str, ...] | list[str]) -> Phase:
    """``docker login`` on ``hosts`` (nothing for a local registry, which needs none)."""
    login = Registry(ctx.config).login()
    return Phase({host: (Do(login),) for host in hosts} if login is not None else {})


def logout_remote(ctx: Context) -> Section:
    """``registry remove --skip-local``: remote ``docker logout`` (nothing for a local registry)."""
    if ctx.config.registry.local:
        return Section(())
    logout = Registry(ctx.config).logout()
    return Section((Phase({host: (Do(logout),) for host in ctx.selection.hosts}),))


def _login(ctx: Context, args: Args) -> Script:
    if ctx.config.registry.local:
        raise Refused("Cannot use login command with a local registry. Use `kamal registry setup` instead.")
    items: list[Item] = []
    if not flag(args, "skip_local"):
        login = Registry(ctx.config).login()
        assert login is not None
        items += [Local(Base(ctx.config).ensure_docker_installed(), DOCKER_MISSING_LOCALLY), Local(login)]
    if not flag(args, "skip_remote"):
        items.append(login_phase(ctx, ctx.selection.hosts))
    return Script("registry login", tuple(items))


def _logout(ctx: Context, args: Args) -> Script:
    if ctx.config.registry.local:
        raise Refused("Cannot use logout command with a local registry. Use `kamal registry remove` instead.")
    logout = Registry(ctx.config).logout()
    items: list[Item] = []
    if not flag(args, "skip_local"):
        items.append(Local(logout))
    if not flag(args, "skip_remote"):
        items.append(Phase({host: (Do(logout),) for host in ctx.selection.hosts}))
    return Script("registry logout", tuple(items))


register_script(("registry", "login"), "Log in to remote registry locally and remotely", mutating=True, build=_login)
register_script(("registry", "logout"), "Log out of remote registry locally and remotely", mutating=True, build=_logout)
