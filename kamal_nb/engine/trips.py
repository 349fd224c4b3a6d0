"""Round trips: a list of `Cmd` sent to one host at once (a `GuardedBatch`).

Each command is sent exactly as Kamal sends it, in a subshell of its own; a *strict* command that
fails ends the round trip there (Kamal raises), a *tolerant* one does not (Kamal's
`raise_on_non_zero_exit: false`). `stop_on` ends a round trip early without failing it: on a
success (`"ok"`: what follows is for the other answer) or on a tolerated failure (`"failure"`:
what follows needs this to have worked).

The engine's runner (kamal_nb.engine.run) makes them from a script's consecutive commands.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from typing import Literal

from kamal_nb.commands import Command
from kamal_nb.fleet import Batch, CommandResult, Upload
from kamal_nb.fleet.runner import Step


@dataclass(frozen=True)
class Cmd:
    """One command of a round trip. `strict`: a failure stops the round trip (and the host).
    `on_done(exit_code)` is called the moment it ends on the host, while the round trip goes on."""

    command: Command | str
    strict: bool = True
    note: str | None = None  # for plans: why the command may differ or be left out
    on_done: Callable[[int], None] | None = field(default=None, compare=False, repr=False)
    stop_on: Literal["ok", "failure"] | None = None


@dataclass(frozen=True)
class GuardedBatch(Batch):
    """A Batch that stops at the first failing *strict* command, as a Kamal `execute` would."""

    strict: tuple[bool, ...] = field(default=())
    notify: tuple[Callable[[int], None] | None, ...] = field(default=(), compare=False, repr=False)
    stops: tuple[str | None, ...] = field(default=())

    def part_done(self, part: int, exit_code: int) -> None:
        callback = self.notify[part] if part < len(self.notify) else None
        if callback is not None:
            callback(exit_code)

    def wire(self) -> str:
        marker = self.marker
        parts = []
        for index, command in enumerate(self.commands):
            text = command if isinstance(command, str) else command.wire()
            part = f"( {text} ); __rc=$?; printf '%s %s\\n' {marker} $__rc; printf '%s\\n' {marker} >&2"
            if index < len(self.strict) and self.strict[index]:
                part += "; [ $__rc -eq 0 ] || exit $__rc"
            stop = self.stops[index] if index < len(self.stops) else None
            if stop == "ok":
                part += "; [ $__rc -ne 0 ] || exit 0"
            elif stop == "failure":
                part += "; [ $__rc -eq 0 ] || exit 0"
            parts.append(part)
        return "; ".join(parts)


Trip = Sequence[Cmd] | Upload


def round_trip(commands: Sequence[Cmd]) -> Step:
    """The step that sends `commands` in one round trip (a lone strict command goes as it is)."""
    if len(commands) == 1 and commands[0].strict and commands[0].on_done is None:
        return commands[0].command
    return GuardedBatch(
        tuple(c.command for c in commands),
        strict=tuple(c.strict for c in commands),
        notify=tuple(c.on_done for c in commands),
        stops=tuple(c.stop_on for c in commands),
    )


@dataclass(frozen=True)
class Reply:
    """What one host answered to one round trip."""

    host: str
    results: tuple[CommandResult, ...]
    error: str | None  # unreachable, timed out…
    failure: str | None  # why the round trip failed (None when every strict command passed)

    @property
    def ok(self) -> bool:
        return self.failure is None

    def out(self, index: int) -> str:
        """The stdout of command `index`, stripped ("" when it did not run)."""
        return self.results[index].stdout.strip() if index < len(self.results) else ""

    def code(self, index: int) -> int | None:
        return self.results[index].exit_code if index < len(self.results) else None

    def err(self, index: int) -> str:
        return self.results[index].stderr.strip() if index < len(self.results) else ""

    def part(self, start: int, stop: int | None = None) -> Reply:
        """The answers to commands `start` to `stop` of the round trip (indexes count from `start`)."""
        return Reply(self.host, self.results[start:stop], self.error, self.failure)


@dataclass(frozen=True)
class Tolerated(CommandResult):
    """A command whose failure Kamal ignores (`raise_on_non_zero_exit: false`): it keeps its exit
    code and output, and does not make its host fail."""

    @property
    def ok(self) -> bool:
        return True


@dataclass(frozen=True)
class Answered(Tolerated):
    """A command whose failure is an answer ("there is no lock"): its exit code says nothing more,
    and a result table leaves it out."""

    is_answer = True


def tolerated(result: CommandResult, *, answer: bool = False) -> CommandResult:
    """The same result, marked as a failure Kamal ignores (or, with `answer`, as an answer)."""
    kind = Answered if answer else Tolerated
    return kind(**{f.name: getattr(result, f.name) for f in fields(result)})
