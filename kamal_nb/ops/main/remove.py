"""``kamal remove`` (``lib/kamal/cli/main.rb``): the whole app off the fleet, under one lock: app
remove, proxy remove (kept when other apps are installed), every accessory removed, and a remote
``docker logout``. Needs confirming (``yes=True``), as Kamal's ``-y``.
"""

from __future__ import annotations

from kamal_nb.ops import accessory, registry
from kamal_nb.ops.app import lifecycle as app
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.proxy import lifecycle as proxy
from kamal_nb.ops.script import Script, register_script
from kamal_nb.ops.session import Context


def _remove(ctx: Context, args: Args) -> Script:
    return Script(
        "remove",
        (
            app.remove(ctx),
            proxy.remove(ctx, force=False),
            accessory.remove_all(ctx),
            registry.logout_remote(ctx),
        ),
        lock=True,
        notes=("This will remove all containers and images",),
    )


register_script(
    ("remove",), "Remove kamal-proxy, app, accessories, and registry session from servers", mutating=True, build=_remove
)
