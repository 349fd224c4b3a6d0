"""The result of an operation: every host's commands and output, and a summary that reads the same
in a live notebook, a saved one, on GitHub and in a terminal (a text status column, not colour)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from kamal_nb.fleet import GroupResult, HostFailures

if TYPE_CHECKING:
    import pandas as pd


class OperationFailed(HostFailures):
    """An operation failed on some hosts; `.result` is the whole GroupResult."""


_SHELL_WRAPPED = re.compile(r"^sh -c '(.*)'$", re.DOTALL)


def _brief(command: str, width: int = 60) -> str:
    """A command on one short line (a table cell); `sh -c '...'` reads as what it runs (its quotes
    undone), since the wrapper and its escaped quotes say nothing to a reader."""
    line = " ".join(command.split())
    wrapped = _SHELL_WRAPPED.match(line)
    if wrapped:
        line = wrapped.group(1).replace("'\\''", "'")
    return line if len(line) <= width else line[: width - 1] + "…"


def failed_hosts_message(hosts: GroupResult) -> str:
    """A failure on hosts as an error says it: `failed on 2 of 3 hosts` and at most two lines why."""
    from kamal_nb.engine.result_view import lost_note

    head = f"failed on {len(hosts.failed)} of {len(hosts)} hosts{lost_note(hosts)}"
    return "\n".join([head, *failed_hosts_lines(hosts)])


def failed_hosts_lines(hosts: GroupResult, *, shown: int = 2) -> list[str]:
    """Why hosts failed, in at most `shown` lines: hosts that failed the same way share one line
    (`10.0.0.1, 10.0.0.2: connection refused`), the rest are counted, not listed (the table has them)."""
    by_reason: dict[str, list[str]] = {}
    for host, result in hosts.failed.items():
        reason = (result.failure or "failed").replace(host, "<host>")
        by_reason.setdefault(reason, []).append(host)
    lines = []
    for reason, names in list(by_reason.items())[:shown]:
        listed = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        if len(names) == 1:
            reason = reason.replace("<host>", names[0])
        else:  # `root@<host>: ` said once by the list of hosts; elsewhere the name stands as {host}
            reason = re.sub(r"^\S*<host>\S*:\s*", "", reason).replace("<host>", "{host}")
        lines.append(f"  {listed}: {reason}")
    left = sum(len(names) for names in list(by_reason.values())[shown:])
    if left:
        lines[-1] += f" (and {left} more host{'s' if left > 1 else ''} failing otherwise: see the table)"
    return lines


@dataclass(frozen=True)
class OperationResult:
    operation: str
    hosts: GroupResult
    duration: float = 0.0
    data: Any = None  # what the operation found out, parsed (a lock status, versions...)
    messages: tuple[str, ...] = field(default=())  # what Kamal would print besides host output
    # the operation changed hosts: its host output is a log (shown collapsed), not the answer
    changes: bool = False

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
        """A question's answer as its table (`app version`: host, role, version...); otherwise
        `hosts_df`, one row per host."""
        from kamal_nb.engine.answers import Answer

        if isinstance(self.data, Answer):
            return self.data.df
        return self.hosts_df

    @property
    def hosts_df(self) -> pd.DataFrame:
        """One row per host: status (text), commands run, exit code of the last, duration, failure."""
        import pandas as pd

        rows = []
        for host, result in self.hosts.items():
            last = result.commands[-1].exit_code if result.commands else None
            if result.commands and getattr(result.commands[-1], "is_answer", False):
                last = None  # a failure that is an answer ("no deploy lock"): its code means nothing
            rows.append(
                {
                    "host": host,
                    "status": result.status,
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

    @property
    def timeline(self) -> pd.DataFrame:
        """Each host's steps in order: command, start, seconds, exit code (one row a command)."""
        import pandas as pd

        rows = [
            {
                "host": host,
                "step": index + 1,
                "command": command.command,
                "start": pd.Timestamp(command.started_at, unit="s", tz="UTC") if command.started_at else pd.NaT,
                "duration_s": round(command.duration, 3),
                "exit_code": command.exit_code,
                "status": "ok" if command.ok else "FAILED",
            }
            for host, result in self.hosts.items()
            for index, command in enumerate(result.commands)
        ]
        columns = ["host", "step", "command", "start", "duration_s", "exit_code", "status"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["start"] = pd.to_datetime(frame["start"], utc=True).astype("datetime64[ns, UTC]")
        return frame.astype(
            {
                "host": "string",
                "step": "int64",
                "command": "string",
                "duration_s": "float64",
                "exit_code": "int64",
                "status": "string",
            }
        )

    @property
    def timeline_by_host(self) -> pd.DataFrame:
        """The timeline in one row a host: steps run, when the first began, seconds from its start to
        the end of its last, its slowest step and the step that failed (blank when none)."""
        import pandas as pd

        rows = []
        for host, result in self.hosts.items():
            commands = result.commands
            starts = [c.started_at for c in commands if c.started_at]
            ends = [c.started_at + c.duration for c in commands if c.started_at]
            slowest = max(commands, key=lambda c: c.duration, default=None)
            failed = next((c for c in commands if not c.ok), None)
            rows.append(
                {
                    "host": host,
                    "status": result.status,
                    "steps": len(commands),
                    "start": pd.Timestamp(min(starts), unit="s", tz="UTC") if starts else pd.NaT,
                    "seconds": round(max(ends) - min(starts), 3) if starts else round(result.duration, 3),
                    "slowest": f"{_brief(slowest.command)} ({slowest.duration:.2f}s)" if slowest else "",
                    "failed": _brief(failed.command) if failed else (result.error or ""),
                }
            )
        columns = ["host", "status", "steps", "start", "seconds", "slowest", "failed"]
        frame = pd.DataFrame(rows, columns=columns)
        frame["start"] = pd.to_datetime(frame["start"], utc=True).astype("datetime64[ns, UTC]")
        return frame.astype(
            {
                "host": "string",
                "status": "string",
                "steps": "int64",
                "seconds": "float64",
                "slowest": "string",
                "failed": "string",
            }
        )

    def plot_timeline(self) -> Any:
        """A per-host Gantt chart of the timeline (needs matplotlib: pip install 'kamal-nb[plot]')."""
        try:
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError("plot_timeline needs matplotlib: pip install 'kamal-nb[plot]'") from None
        hosts = list(self.hosts)
        starts = [c.started_at for r in self.hosts.values() for c in r.commands if c.started_at]
        origin = min(starts, default=0.0)
        figure, axes = plt.subplots(figsize=(10, 0.6 + 0.45 * max(1, len(hosts))))
        for row, result in enumerate(self.hosts.values()):
            for command in result.commands:
                colour = "tab:green" if command.ok else "tab:red"
                left = command.started_at - origin if command.started_at else 0.0
                axes.barh(row, max(command.duration, 0.005), left=left, color=colour, edgecolor="white")
            if result.error is not None:
                axes.text(0, row, f"  {result.error}", va="center", color="tab:red")
        axes.set_yticks(range(len(hosts)), labels=hosts)
        axes.invert_yaxis()
        axes.set_xlabel("seconds since the first command")
        axes.set_title(f"kamal {self.operation}: green ok, red failed")
        figure.tight_layout()
        plt.close(figure)
        return figure

    def __str__(self) -> str:
        lines = [*self.messages]
        for host in self.hosts:
            output = self.output(host).rstrip("\n")
            if output and self.changes:  # a log the live lines have shown: said, not printed twice
                count = output.count("\n") + 1
                lines.append(f"{host}: {count} line{'s' if count != 1 else ''} of output (-v prints it live)")
            elif output:
                lines += [f"Host: {host}", output, ""]
        from kamal_nb.engine.result_view import boot_outcome, lost_note

        failed = len(self.hosts.failed)
        status = "ok" if not failed else f"FAILED on {failed} of {len(self.hosts)} hosts{lost_note(self.hosts)}"
        outcome = boot_outcome(self)  # a deploy or rollback: what booted (the terminal's last line)
        if outcome:
            said = re.sub(r"^FAILED( \(\d+ lost\))?: ", "", outcome).split(", because")[0]
            status = outcome if not failed else f"{status}: {said}"
        lines.append(f"kamal {self.operation}: {status} ({self.duration:.2f}s)")
        for host, result in self.hosts.failed.items():  # every host: the result is the whole report
            lines.append(f"  {host}: {result.failure}")
        return "\n".join(lines)

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """The verdict first, then the lock or Kamal's lines, the host table, each host's output."""
        from kamal_nb.engine import result_view

        return {"text/plain": result_view.text(self), "text/html": result_view.to_html(self)}
