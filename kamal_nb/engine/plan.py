"""What an operation would do, host by host, before anything runs or connects."""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamal_nb.fleet import Step, Upload
from kamal_nb.redaction import redact

if TYPE_CHECKING:
    import pandas as pd


# `echo "<base64, wrapped>"`: how Kamal writes the lock's details file (base64 of `Locked by: ...`)
_ENCODED = re.compile(r'echo "([A-Za-z0-9+/=\n]{16,})"')
CONFIRM = "nothing was run: confirm with --yes (yes=True)"


def _decoded(match: re.Match[str]) -> str:
    try:
        text = base64.b64decode(match.group(1), validate=False).decode()
    except (ValueError, UnicodeDecodeError):
        return match.group(0)
    if not text.startswith("Locked by: "):
        return match.group(0)
    return f'echo "<lock details: {" ".join(text.split())}>"'


@dataclass(frozen=True)
class PlannedStep:
    host: str
    step: Step
    role: str | None = None
    # why the step may differ when it runs: it depends on what the host answers, say
    note: str | None = None
    phase: str | None = None  # the heading of the part of the operation it belongs to

    @property
    def text(self) -> str:
        """The step exactly as it will be sent, secrets redacted."""
        text = redact(str(self.step))
        return f"{text}    # {self.note}" if self.note else text

    @property
    def shown(self) -> str:
        """The step as a person reads it: on one line, the lock's encoded details decoded."""
        return _ENCODED.sub(_decoded, self.text)


@dataclass(frozen=True)
class Plan:
    """An operation's ordered steps. `str()` lists them phase by phase, host by host, one command a
    line; `wire()` is every command exactly as it will be sent (secrets redacted)."""

    operation: str
    steps: tuple[PlannedStep, ...]
    notes: tuple[str, ...] = ()  # about the whole operation (e.g. "needs --yes")
    version: str | None = None  # the version it works with, when it needs --yes (for the summary)

    @property
    def pending(self) -> bool:
        """Whether this plan stands for a command that was not run (it needs --yes)."""
        return CONFIRM in self.notes

    @property
    def roles(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.role for s in self.steps if s.role))

    def summary(self) -> list[str]:
        """What it would do, first: the operation, hosts, roles, version, and that nothing ran."""
        hosts = [h for h in self.hosts if h != "local"]
        head = f"kamal {self.operation}: {CONFIRM}"
        facts = [f"hosts {', '.join(hosts) or '—'}"]
        if self.roles:
            facts.append(f"roles {', '.join(self.roles)}")
        if self.version:
            facts.append(f"version {self.version}")
        facts.append(f"{len(self.steps)} steps")
        return [head, "  " + " · ".join(facts)] if self.pending else []

    def phases(self) -> list[tuple[str | None, list[PlannedStep]]]:
        """The steps in the order they run, grouped by phase (a heading each; None: no heading)."""
        groups: list[tuple[str | None, list[PlannedStep]]] = []
        for step in self.steps:
            if not groups or groups[-1][0] != step.phase:
                groups.append((step.phase, []))
            groups[-1][1].append(step)
        return groups

    def wire(self) -> str:
        """Every step exactly as it will be sent, host by host (secrets redacted)."""
        lines = [f"Plan: kamal {self.operation} ({len(self.steps)} steps on {len(self.hosts)} hosts)"]
        for host in self.hosts:
            lines.append(f"{host}:")
            lines += [f"  {step.text}" for step in self.for_host(host)]
        return "\n".join(lines)

    @property
    def hosts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(s.host for s in self.steps))

    def for_host(self, host: str) -> list[PlannedStep]:
        return [s for s in self.steps if s.host == host]

    def _title(self) -> str:
        return f"Plan: kamal {self.operation} ({len(self.steps)} steps on {len(self.hosts)} hosts)"

    def __str__(self) -> str:
        lines = [*self.summary(), self._title()]
        lines += [f"# {note}" for note in self.notes if note != CONFIRM]
        for phase, steps in self.phases():
            if phase:
                lines.append(f"== {phase} ==")
            for host in dict.fromkeys(s.host for s in steps):
                lines.append(f"{host}:")
                lines += [f"  {step.shown}" for step in steps if step.host == host]
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
        summary = self.summary()
        parts = []
        if summary:
            parts.append(f"<p><b>{html.escape(summary[0])}</b><br>{html.escape(summary[1].strip())}</p>")
        body = [f"<p><b>{html.escape(self._title())}</b> — nothing has run</p>"]
        notes = [n for n in self.notes if n != CONFIRM]
        if notes:
            body.append("<ul>" + "".join(f"<li><i>{html.escape(n)}</i></li>" for n in notes) + "</ul>")
        for phase, steps in self.phases():
            if phase:
                body.append(f"<h4>{html.escape(phase)}</h4>")
            for host in dict.fromkeys(s.host for s in steps):
                commands = "\n".join(html.escape(s.shown) for s in steps if s.host == host)
                body.append(f"<div><b>{html.escape(host)}</b><pre>{commands}</pre></div>")
        if summary:  # the plan behind the summary, collapsed (a saved notebook and its HTML keep it)
            parts.append("<details><summary>the full plan</summary>" + "\n".join(body) + "</details>")
        else:
            parts += body
        return {"text/plain": str(self), "text/html": "\n".join(parts)}
