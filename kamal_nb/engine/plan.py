"""What an operation would do, host by host, before anything runs or connects."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamal_nb.fleet import Step, Upload
from kamal_nb.redaction import redact

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class PlannedStep:
    host: str
    step: Step
    role: str | None = None
    # why the step may differ when it runs: it depends on what the host answers, say
    note: str | None = None

    @property
    def text(self) -> str:
        """The step exactly as it will be sent, secrets redacted."""
        text = redact(str(self.step))
        return f"{text}    # {self.note}" if self.note else text


@dataclass(frozen=True)
class Plan:
    """An operation's ordered steps. `str()` lists them host by host, one command per line."""

    operation: str
    steps: tuple[PlannedStep, ...]
    notes: tuple[str, ...] = ()  # about the whole operation (e.g. "needs --yes")

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.host for s in self.steps))

    def for_host(self, host: str) -> list[PlannedStep]:
        return [s for s in self.steps if s.host == host]

    def __str__(self) -> str:
        lines = [f"Plan: kamal {self.operation} ({len(self.steps)} steps on {len(self.hosts)} hosts)"]
        lines += [f"# {note}" for note in self.notes]
        for host in self.hosts:
            lines.append(f"{host}:")
            lines += [f"  {step.text}" for step in self.for_host(host)]
        return "\n".join(lines)

    @property
    def df(self) -> pd.DataFrame:
        import pandas as pd

        rows = [
            {
                "host": s.host,
                "step": i + 1,
                "role": s.role or "",
                "kind": "upload" if isinstance(s.step, Upload) else "command",
                "command": redact(str(s.step)),
                "note": s.note or "",
            }
            for i, s in enumerate(self.steps)
        ]
        return pd.DataFrame(rows, columns=["host", "step", "role", "kind", "command", "note"]).astype(
            {
                "host": "string",
                "step": "int64",
                "role": "string",
                "kind": "string",
                "command": "string",
                "note": "string",
            }
        )

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        parts = [f"<p><b>Plan: kamal {html.escape(self.operation)}</b> — nothing has run</p>"]
        parts += [f"<p><i>{html.escape(n)}</i></p>" for n in self.notes]
        for host in self.hosts:
            commands = "\n".join(html.escape(s.text) for s in self.for_host(host))
            parts.append(f"<details open><summary>{html.escape(host)}</summary><pre>{commands}</pre></details>")
        return {"text/plain": str(self), "text/html": "\n".join(parts)}
