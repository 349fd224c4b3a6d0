"""Kamal 2.12's hidden ``kamal app remove_container VERSION|remove_containers|remove_images|
remove_app_directories`` (``lib/kamal/cli/app.rb``): the steps ``app remove`` is made of, each on
its own, under the deploy lock, with Kamal's audit lines.

* ``remove_container VERSION``: on each selected role, ``docker container ls --all --filter
  'name=^<prefix>-VERSION$' --quiet | xargs docker container rm`` (a running container stays: Docker
  refuses to remove it, and the host fails, as in Kamal);
* ``remove_containers``: the stopped containers of each selected role (``docker container prune``);
* ``remove_images`` and ``remove_app_directories``: only on hosts where every role is selected,
  since a host's roles share them; ``rm -r`` failures are ignored, as in Kamal.

(``app remove`` in kamal_nb.ops.app.lifecycle is made of the last three, after ``app stop``.)
"""

from __future__ import annotations

from collections.abc import Callable

from kamal_nb.commands import App
from kamal_nb.config import Role
from kamal_nb.config.shell_safety import check_version
from kamal_nb.config.validation import ValidationError
from kamal_nb.engine.errors import Refused
from kamal_nb.ops.app.lifecycle import on_roles, remove_app_directories, remove_containers, remove_images
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import Action, Do, Phase, Script, register_script, text
from kamal_nb.ops.session import Context


def remove_container(ctx: Context, version: str) -> Phase:
    line = f"Removed app container with version {version}"

    def steps(host: str, role: Role) -> list[Action]:
        app = App(ctx.config, role=role, host=host)
        return [
            Do(audit(ctx, line, role=role.name), role=role.name),
            Do(app.remove_container(version=version), role=role.name),
        ]

    return Phase(on_roles(ctx, ctx.selection.app_hosts, steps))


def _remove_container(ctx: Context, args: Args) -> Script:
    version = text(args, "version")
    if version is None:
        raise Refused("app remove_container needs a VERSION")
    try:
        check_version(version)  # it goes into a --filter and a name unquoted
    except ValidationError as error:
        raise Refused(f"app remove_container: {error}") from None
    return Script("app remove_container", (remove_container(ctx, version),), lock=True)


def _locked(name: str, phase: Callable[[Context], Phase], summary: str) -> None:
    def build(ctx: Context, args: Args) -> Script:
        return Script(f"app {name}", (phase(ctx),), lock=True)

    register_script(("app", name), summary, mutating=True, build=build)


register_script(
    ("app", "remove_container"),
    "Remove app container with given version from servers",
    mutating=True,
    build=_remove_container,
)
_locked("remove_containers", remove_containers, "Remove all app containers from servers")
_locked("remove_images", remove_images, "Remove all app images from servers")
_locked("remove_app_directories", remove_app_directories, "Remove the app directories from servers")
