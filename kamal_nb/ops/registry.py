"""``kamal registry setup|remove|login|logout [-L] [-R]`` (``lib/kamal/cli/registry.rb``): ``docker
login`` or ``docker logout`` on this machine (unless ``skip_local``) and on every selected host
(unless ``skip_remote``). The password goes on the wire only; plans, results and events show it
redacted.

With a local registry (``server: localhost:PORT``) setup starts Kamal's ``kamal-docker-registry``
container on this machine's engine (``docker start … || docker run … registry:3``) and remove stops
and removes it; the hosts need no login (they pull through SSH port forwarding, kamal_nb.ops.build.deliver).
Kamal checks ``docker --version && docker buildx version`` first; kamal_nb builds without buildx,
so it only asks for the docker CLI.
"""

from __future__ import annotations

from kamal_nb.commands import Registry
from kamal_nb.commands.base import Base
from kamal_nb.commands.command import docker
from kamal_nb.commands.registry import LOCAL_REGISTRY_CONTAINER
from kamal_nb.engine.errors import Refused
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import Do, Item, Local, Phase, Script, Section, flag, register_script
from kamal_nb.ops.session import Context

DOCKER_MISSING_LOCALLY = "Docker is not installed locally (or its buildx plugin is missing)"
DOCKER_NOT_INSTALLED = "Docker is not installed locally"
LOCAL_NOTE = "the local registry runs on this machine's engine (DOCKER_HOST, else the default socket)"


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
    return _login_items(ctx, args, "registry login")


def _login_items(ctx: Context, args: Args, name: str) -> Script:
    items: list[Item] = []
    if not flag(args, "skip_local"):
        login = Registry(ctx.config).login()
        assert login is not None
        items += [Local(Base(ctx.config).ensure_docker_installed(), DOCKER_MISSING_LOCALLY), Local(login)]
    if not flag(args, "skip_remote"):
        items.append(login_phase(ctx, ctx.selection.hosts))
    return Script(name, tuple(items))


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


def _setup(ctx: Context, args: Args) -> Script:
    if not ctx.config.registry.local:
        return _login_items(ctx, args, "registry setup")
    items: list[Item] = []
    if not flag(args, "skip_local"):
        items += [Local(docker("--version"), DOCKER_NOT_INSTALLED), Local(Registry(ctx.config).setup())]
    return Script("registry setup", tuple(items), notes=(LOCAL_NOTE,))


def _remove(ctx: Context, args: Args) -> Script:
    if not ctx.config.registry.local:
        return Script("registry remove", _logout(ctx, args).items)
    # the container stopped and removed; no such container is a failure Kamal ignores
    # (``raise_on_non_zero_exit: false``)
    ignored = f"no {LOCAL_REGISTRY_CONTAINER} container to remove (Kamal ignores this too)"
    items = () if flag(args, "skip_local") else (Local(Registry(ctx.config).remove(), tolerate=ignored),)
    return Script("registry remove", items, notes=(LOCAL_NOTE,))


register_script(
    ("registry", "setup"),
    "Setup local registry or log in to remote registry locally and remotely",
    mutating=True,
    build=_setup,
)
register_script(
    ("registry", "remove"),
    "Remove local registry or log out of remote registry locally and remotely",
    mutating=True,
    build=_remove,
)
register_script(("registry", "login"), "Log in to remote registry locally and remotely", mutating=True, build=_login)
register_script(("registry", "logout"), "Log out of remote registry locally and remotely", mutating=True, build=_logout)
