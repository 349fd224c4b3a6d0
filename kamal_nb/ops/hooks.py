"""Kamal's hooks: see kamal_nb.engine.hooks (the engine runs them as script items)."""

from kamal_nb.engine.hooks import LOCAL, HookError, hook_may_run, run_hook

__all__ = ["LOCAL", "HookError", "hook_may_run", "run_hook"]
