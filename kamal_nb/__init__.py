"""kamal_nb: operate Kamal 2 fleets from Jupyter.

``%load_ext kamal_nb`` registers the ``%kamal`` magics. Importing this package stays cheap:
heavy dependencies (pandas, fabric, docker, ipywidgets) are imported where they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__version__ = "0.1.0"


def __getattr__(name: str) -> str:
    # KAMAL_COMPAT_VERSION is defined by the configuration layer (kamal_nb.config.version), which uses
    # it; read on demand so that `import kamal_nb` stays cheap and the config never imports the root.
    if name == "KAMAL_COMPAT_VERSION":
        from kamal_nb.config.version import KAMAL_COMPAT_VERSION

        return KAMAL_COMPAT_VERSION
    raise AttributeError(f"module 'kamal_nb' has no attribute {name!r}")


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Called by ``%load_ext kamal_nb``."""
    from kamal_nb.notebook import register

    register(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Called by ``%unload_ext kamal_nb`` and before ``%reload_ext`` loads it again."""
    from kamal_nb.notebook import unregister

    unregister(ipython)
