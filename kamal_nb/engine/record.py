"""What an operation did, host by host: the one record every operation keeps (`Recorder`), and the
one way an interrupted operation is reported (`OperationInterrupted`)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from kamal_nb.engine.context import RunContext as Context
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import CommandResult, Failed, Finished, GroupResult, HostEvent, HostResult, Started
from kamal_nb.fleet.fanout import Stop
from kamal_nb.redaction import redact

# Raised inside an operation when another host's worker was interrupted: stop here.
Interrupted = Stop


class OperationInterrupted(KeyboardInterrupt):
    """An operation was interrupted (Ctrl-C, or a KeyboardInterrupt from a hook or a subscriber).

    The message says, host by host, what had been done and what was running; `.result` has every
    command that completed. The deploy lock has been released by the time this is raised.
    """

    def __init__(self, message: str, result: OperationResult) -> None:
        super().__init__(message)
        self.result = result

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "interrupted"


class Recorder:
    """Everything an operation ran, host by host, across its round trips; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._commands: dict[str, list[CommandResult]] = {}
        self._errors: dict[str, str] = {}
        self._durations: dict[str, float] = {}
        self.messages: list[str] = []
        self.cancelled = threading.Event()  # set when the operation was interrupted
        self.inflight: dict[str, str] = {}  # host -> the command running now (from the events)
        self.answers: dict[str, dict[str, CommandResult]] = {}  # host -> capture name -> answer
        self.lock_taken = False  # this operation took the deploy lock (and so releases it)
        self.lock_released: bool | None = None  # None: not tried (yet); False: releasing it failed

    def capture(self, host: str, key: str, result: CommandResult) -> None:
        with self._lock:
            self.answers.setdefault(host, {})[key] = result

    def data(self) -> dict[str, dict[str, str]]:
        """Every captured answer, by host: what the operation found out on the way."""
        with self._lock:
            return {h: {k: r.stdout.strip() for k, r in found.items()} for h, found in self.answers.items()}

    def add(self, host: str, results: Sequence[CommandResult], duration: float = 0.0) -> None:
        with self._lock:
            self._commands.setdefault(host, []).extend(results)
            self._durations[host] = self._durations.get(host, 0.0) + duration

    def fail(self, host: str, reason: str) -> None:
        with self._lock:
            self._commands.setdefault(host, [])
            self._errors.setdefault(host, redact(reason))

    def say(self, message: str) -> None:
        with self._lock:
            self.messages.append(redact(message))

    def absorb(self, result: OperationResult) -> bool:
        """Take in what another operation run inside this one did (its commands, failures and
        messages); whether it went well."""
        for host, host_result in result.hosts.items():
            self.add(host, host_result.commands, host_result.duration)
            if host_result.error is not None:
                self.fail(host, host_result.error)
        for message in result.messages:
            self.say(message)
        return result.ok

    def interrupted(self, operation: str, started: float) -> OperationInterrupted:
        """The interrupt, saying host by host what had been done and what was running."""
        released = ""
        if self.lock_taken:
            released = {
                True: "; the deploy lock was released",
                False: "; the deploy lock could not be released",
                None: "; the deploy lock may still be held (its release was interrupted): see `kamal lock status`",
            }[self.lock_released]
        return OperationInterrupted(
            f"kamal {operation} was interrupted{released}.\n{self.story()}", self.result(operation, started)
        )

    def failed(self, host: str) -> bool:
        return host in self._errors

    @property
    def failures(self) -> dict[str, str]:
        return dict(self._errors)

    def touch(self, hosts: Sequence[str]) -> None:
        with self._lock:
            for host in hosts:
                self._commands.setdefault(host, [])

    def group(self) -> GroupResult:
        with self._lock:
            return GroupResult(
                {
                    host: HostResult(host, tuple(commands), self._errors.get(host), self._durations.get(host, 0.0))
                    for host, commands in self._commands.items()
                }
            )

    def result(self, operation: str, started: float, data: object = None) -> OperationResult:
        return OperationResult(operation, self.group(), time.monotonic() - started, data, tuple(self.messages))

    def story(self) -> str:
        """Host by host: what completed, and what was running when the operation stopped."""
        lines = []
        with self._lock:
            for host, commands in self._commands.items():
                done = len(commands)
                last = commands[-1].command.splitlines()[0] if commands else None
                running = self.inflight.get(host)
                line = f"  {host}: {done} commands completed" + (f", the last `{last}`" if last else "")
                if running:
                    line += f"; interrupted while running `{running.splitlines()[0]}`"
                if host in self._errors:
                    line += f"; failed: {self._errors[host]}"
                lines.append(line)
        return "\n".join(lines)


@contextmanager
def tracking(ctx: Context, rec: Recorder) -> Iterator[None]:
    """Follow the event stream while an operation runs, to say what each host was doing if it stops."""

    def follow(event: HostEvent) -> None:
        if isinstance(event, Started):
            rec.inflight[event.host] = event.display
        elif isinstance(event, Finished | Failed):
            rec.inflight.pop(event.host, None)

    unsubscribe = ctx.session.events.subscribe(follow)
    try:
        yield
    finally:
        unsubscribe()
