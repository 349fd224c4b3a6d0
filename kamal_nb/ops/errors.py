"""The errors an operation raises for a reason the user can act on: see kamal_nb.engine.errors."""

from kamal_nb.engine.errors import OperationError, Refused

__all__ = ["OperationError", "Refused"]
