"""The result of an operation: see kamal_nb.engine.result."""

from kamal_nb.engine.result import OperationFailed, OperationResult

__all__ = ["OperationFailed", "OperationResult"]
