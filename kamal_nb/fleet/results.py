"""Per-host results of running steps on a group of hosts (after fabric's GroupResult)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

# How the SSH liveness rule (fleet/liveness.py) says a host was given up; the reason is carried as
# text (an operation's record keeps one reason per host), so the text is what marks a host lost.
_LOST = re.compile(r"(?:^|: )lost: no answer for \d+s to keepalives")

Status = Literal["ok", "FAILED", "lost"]


@dataclass(frozen=True)
class CommandResult:
    """What one command did on one host. Output is captured already redacted."""

    host: str
    command: str  # as displayed: secrets redacted
    exit_code: int
    stdout: str
    stderr: str
    duration: float
    started_at: float = 0.0  # wall-clock time.time() when it began, for timelines

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


@dataclass(frozen=True)
class HostResult:
    """Everything that ran on one host, and why it stopped early if it did."""

    host: str
    commands: tuple[CommandResult, ...] = ()
    error: str | None = None  # the host could not run a step: connection, key, timeout
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.error is None and all(c.ok for c in self.commands)

    @property
    def lost(self) -> bool:
        """The host stopped answering (the SSH liveness rule gave it up): what ran there is unknown."""
        return self.error is not None and _LOST.search(self.error) is not None

    @property
    def status(self) -> Status:
        """`ok`, `FAILED`, or `lost` (a failure too: the host went silent, see `lost`)."""
        if self.ok:
            return "ok"
        return "lost" if self.lost else "FAILED"

    @property
    def failure(self) -> str | None:
        """Why this host failed, in one line (None when it did not)."""
        if self.error is not None:
            return self.error
        for command in self.commands:
            if not command.ok:
                detail = (command.stderr.strip() or command.stdout.strip()).splitlines()
                return f"`{command.command}` exited {command.exit_code}" + (f": {detail[-1]}" if detail else "")
        return None

    @property
    def stdout(self) -> str:
        """The last command's output, the usual answer to a one-command question."""
        return self.commands[-1].stdout if self.commands else ""


class HostFailures(Exception):
    """Raised after a group ran, when any host failed; carries the whole result."""

    def __init__(self, result: GroupResult) -> None:
        self.result = result
        lines = [f"{host}: {r.failure}" for host, r in result.failed.items()]
        super().__init__(f"{len(lines)} of {len(result)} hosts failed:\n  " + "\n  ".join(lines))


@dataclass(frozen=True)
class GroupResult(Mapping[str, HostResult]):
    """Host -> HostResult, in the order the hosts were given."""

    results: Mapping[str, HostResult] = field(default_factory=dict)

    def __getitem__(self, host: str) -> HostResult:
        return self.results[host]

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results.values())

    @property
    def failed(self) -> dict[str, HostResult]:
        return {h: r for h, r in self.results.items() if not r.ok}

    @property
    def lost(self) -> dict[str, HostResult]:
        """The failed hosts that went silent (the SSH liveness rule gave them up)."""
        return {h: r for h, r in self.results.items() if r.lost}

    @property
    def succeeded(self) -> dict[str, HostResult]:
        return {h: r for h, r in self.results.items() if r.ok}

    def raise_on_failure(self) -> GroupResult:
        if not self.ok:
            raise HostFailures(self)
        return self
