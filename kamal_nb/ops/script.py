"""Operations written as engine scripts (kamal_nb.engine.script): `register_script` registers one
whose plan and run both come from the one value, and the helpers that read a command's arguments.

The engine's script vocabulary is re-exported here for the operation modules.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.engine.run import local_env, run_script
from kamal_nb.engine.script import (
    Action,
    Answers,
    Do,
    Gate,
    Item,
    Later,
    Local,
    Only,
    Phase,
    RunHook,
    Say,
    Script,
    Section,
    StepRefused,
    Verdict,
    answer,
    answered_ok,
    plan_script,
)
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.session import Context

__all__ = [
    "Action",
    "Answers",
    "Do",
    "Gate",
    "Item",
    "Later",
    "Local",
    "Only",
    "Phase",
    "RunHook",
    "Say",
    "Script",
    "Section",
    "StepRefused",
    "Verdict",
    "answer",
    "answered_ok",
    "command_words",
    "flag",
    "local_env",
    "plan_script",
    "register_script",
    "run_script",
    "text",
]

# -- registering -------------------------------------------------------------------------------------


def register_script(
    path: tuple[str, ...],
    summary: str,
    *,
    mutating: bool,
    build: Callable[[Context, Any], Script],
    mutating_when: Callable[[Args], bool] | None = None,
    arguments: type[Any] | None = None,
) -> None:
    """An operation whose plan and run both come from one script (`build` takes the `arguments`
    dataclass when given, else the dict)."""

    def plan(ctx: Context, args: Any) -> Plan:
        return plan_script(ctx, build(ctx, args))

    def run(ctx: Context, args: Any) -> OperationResult:
        return run_script(ctx, build(ctx, args))

    register(path, summary, mutating=mutating, plan=plan, run=run, mutating_when=mutating_when, arguments=arguments)


def flag(args: Args, name: str) -> bool:
    return bool(args.get(name))


def text(args: Args, name: str) -> str | None:
    value = args.get(name)
    return None if value is None or value == "" else str(value)


def command_words(args: Args, name: str = "cmd") -> str:
    """Kamal's ``join_commands``: the words of CMD…, stripped, joined by spaces."""
    words: Any = args.get(name) or ()
    if isinstance(words, str):
        words = (words,)
    return " ".join(str(w).strip() for w in words)
