"""kamal_nb: operate Kamal 2 fleets from Jupyter.

``%load_ext kamal_nb`` registers the ``%kamal`` magics. Importing this package stays cheap:
heavy dependencies (pandas, fabric, docker, ipywidgets) are imported where they are used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

from kamal_nb.version import KAMAL_COMPAT_VERSION, __version__

__all__ = ["KAMAL_COMPAT_VERSION", "__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython: InteractiveShell) -> None:
    """Called by ``%load_ext kamal_nb``."""
    from kamal_nb.notebook import register

    register(ipython)


def unload_ipython_extension(ipython: InteractiveShell) -> None:
    """Called by ``%unload_ext kamal_nb`` and before ``%reload_ext`` loads it again."""
    from kamal_nb.notebook import unregister

    unregister(ipython)
