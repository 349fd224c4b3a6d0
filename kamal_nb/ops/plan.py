"""What an operation would do: see kamal_nb.engine.plan (plans come from the engine's scripts)."""

from kamal_nb.engine.plan import Plan, PlannedStep

__all__ = ["Plan", "PlannedStep"]
