"""IPython integration: the %kamal magics, widgets and display of results."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell


def register(ipython: InteractiveShell) -> None:
    """Register the magics on ``ipython`` (the magics arrive with the notebook issue)."""


def unregister(ipython: InteractiveShell) -> None:
    """Undo :func:`register`."""
