"""IPython integration: the %kamal magics, live widgets and display of results.

Loading registers the magics and nothing else: the operations, pandas, fabric and ipywidgets are
imported when a command first needs them, so ``%load_ext kamal_nb`` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

    from kamal_nb.notebook.magics import KamalMagics

_LOADED: dict[int, KamalMagics] = {}


def register(ipython: InteractiveShell) -> KamalMagics:
    """Register ``%kamal``/``%%kamal`` on ``ipython`` (configurable as ``KamalMagics``)."""
    from kamal_nb.notebook.magics import KamalMagics

    unregister(ipython)
    magics = KamalMagics(shell=ipython)
    ipython.register_magics(magics)
    _LOADED[id(ipython)] = magics
    return magics


def unregister(ipython: InteractiveShell) -> None:
    """Undo :func:`register`: drop the magics, their settings object and their SSH connections."""
    magics = _LOADED.pop(id(ipython), None)
    if magics is None:
        return
    table = ipython.magics_manager.magics
    for kind in ("line", "cell"):
        if id(getattr(table[kind].get("kamal"), "__self__", None)) == id(magics):
            del table[kind]["kamal"]
    ipython.magics_manager.registry.pop(type(magics).__name__, None)
    configurables: list[Any] = ipython.configurables
    if magics in configurables:
        configurables.remove(magics)
    magics.close()
