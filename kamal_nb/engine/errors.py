"""The base of the errors an operation raises for a reason the user can act on: a held lock, a
failed hook, a build that did not build, a refused argument. Their message says it all, so the
command line prints it as one line and a notebook shows it without a Python traceback; any other
exception is a bug and keeps its traceback."""

from __future__ import annotations


class OperationError(Exception):
    """An operation stopped (or would not start) for a reason its message gives."""


class Refused(OperationError, ValueError):
    """The operation will not run as asked (a missing argument, an unknown accessory, -i without a
    terminal…). Raised before anything has run on any host."""
