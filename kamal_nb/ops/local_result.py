"""Commands Kamal runs on this machine only and that answer with text (``init``, ``docs``,
``secrets ...``): their result, their refusal, and how they join the catalog.

``kamal-nb`` prints ``text`` byte for byte as Kamal prints it; a notebook shows ``shown`` when it
differs (secret values redacted), and ``data`` holds what was found for Python code.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kamal_nb.engine.errors import OperationError
from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import GroupResult
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.session import Context


class LocalCommandError(OperationError):
    """A local command that cannot do what was asked (a missing tool, an option kamal_nb does not
    support). One line that says why and what Kamal would have run; nothing was run or written."""


@dataclass(frozen=True)
class LocalResult(OperationResult):
    """What a local command printed. An OperationResult with no hosts, so the catalog, the command
    line and the magics handle it as any other result."""

    text: str = ""  # exactly Kamal's output, newlines included
    shown: str | None = None  # the notebook's view of it, when it must differ (redacted)

    def __str__(self) -> str:
        return (self.text if self.shown is None else self.shown).removesuffix("\n")

    def __repr__(self) -> str:
        return str(self)

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        text = str(self)
        return {"text/plain": text, "text/html": f"<pre>{html.escape(text)}</pre>"}


def local_result(operation: str, text: str, *, data: Any = None, shown: str | None = None) -> LocalResult:
    return LocalResult(operation, GroupResult({}), data=data, text=text, shown=shown)


def puts(*values: str) -> str:
    """Ruby's ``puts``: each value on its own line, a newline added only where it does not end one."""
    return "".join(value if value.endswith("\n") else value + "\n" for value in values)


def register_local(
    path: tuple[str, ...],
    summary: str,
    run: Callable[[Context, Args], LocalResult],
    plan_notes: Callable[[Context, Args], Sequence[str]],
) -> None:
    """A local text command: it changes no host, so it never needs --yes, and its plan is notes only."""

    def plan(ctx: Context, args: Args) -> Plan:
        return Plan(
            " ".join(path), (), ("runs on this machine only; nothing is sent to any host", *plan_notes(ctx, args))
        )

    register(path, summary, mutating=False, plan=plan, run=run, local=True)
