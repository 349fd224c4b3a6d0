"""The result of an operation: every host's commands and output, and a summary that reads the same
in a live notebook, a saved one, on GitHub and in a terminal (a text status column, not colour)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kamal_nb.fleet import GroupResult, HostFailures

if TYPE_CHECKING:
    import pandas as pd


class OperationFailed(HostFailures):
    """An operation failed on some hosts; `.result` is the whole GroupResult."""


@dataclass(frozen=True)
class OperationResult:
    operation: str
    hosts: GroupResult
    duration: float = 0.0
    data: Any = None  # what the operation found out, parsed (a lock status, versions...)
    messages: tuple[str, ...] = field(default=())  # what Kamal would print besides host output

    @property
    def ok(self) -> bool:
        return self.hosts.ok

    def raise_on_failure(self) -> OperationResult:
        if not self.ok:
            raise OperationFailed(self.hosts)
        return self

    def output(self, host: str) -> str:
        return "".join(c.stdout for c in self.hosts[host].commands)

    @property
    def df(self) -> pd.DataFrame:
        """One row per host: status (text), commands run, exit code of the last, duration, failure."""
        import pandas as pd

        rows = []
        for host, result in self.hosts.items():
            last = result.commands[-1].exit_code if result.commands else None
            rows.append(
                {
                    "host": host,
                    "status": "ok" if result.ok else "FAILED",
                    "commands": len(result.commands),
                    "exit_code": last,
                    "duration_s": round(result.duration, 3),
                    "failure": result.failure or "",
                }
            )
        columns = ["host", "status", "commands", "exit_code", "duration_s", "failure"]
        return pd.DataFrame(rows, columns=columns).astype(
            {
                "host": "string",
                "status": "string",
                "commands": "int64",
                "exit_code": "Int64",
                "duration_s": "float64",
                "failure": "string",
            }
        )

    def __str__(self) -> str:
        lines = [*self.messages]
        for host in self.hosts:
            output = self.output(host).rstrip("\n")
            if output:
                lines += [f"Host: {host}", output, ""]
        failed = len(self.hosts.failed)
        status = "ok" if not failed else f"FAILED on {failed} of {len(self.hosts)} hosts"
        lines.append(f"kamal {self.operation}: {status} ({self.duration:.2f}s)")
        for host, result in self.hosts.failed.items():
            lines.append(f"  {host}: {result.failure}")
        return "\n".join(lines)

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        parts = [f"<p>{html.escape(m)}</p>" for m in self.messages]
        for host in self.hosts:
            output = self.output(host).rstrip("\n")
            if output:
                parts.append(
                    f"<details><summary>{html.escape(host)}</summary><pre>{html.escape(output)}</pre></details>"
                )
        parts.append(self.df.to_html(index=False, na_rep=""))
        return {"text/plain": str(self), "text/html": "\n".join(parts)}
