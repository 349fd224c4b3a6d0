"""Shared building blocks of the mutating operations: round trips, results, and Kamal's common steps.

A *round trip* is a list of `Cmd` sent to one host at once (a `GuardedBatch`): each command is
sent exactly as Kamal sends it, in a subshell of its own; a *strict* command that fails ends the
round trip there (Kamal raises), a *tolerant* one does not (Kamal's `raise_on_non_zero_exit: false`).
`stop_on` ends a round trip early without failing it: on a success (`"ok"`: what follows is for
the other answer) or on a tolerated failure (`"failure"`: what follows needs this to have worked).

    rec = Recorder()
    replies = send(ctx, rec, {host: [Cmd(audit(ctx, "…")), Cmd(some_command, strict=False)]})
    replies[host].ok, replies[host].out(1)

Stable API (other operation modules import it): `Cmd`, `GuardedBatch`, `round_trip`, `Reply`,
`Recorder`, `send`, `Tolerated`, `tolerated`, `Interrupted`, `OperationInterrupted`, `tracking`, `registry_login`,
`network_create`, `network_failed`, `proxy_boot_first`, `proxy_boot_second`, `proxy_version_error`,
`planned`.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Literal

from kamal_nb.commands import Command, Docker, Proxy, Registry
from kamal_nb.commands.proxy_paths import MINIMUM_VERSION
from kamal_nb.fleet import Batch, CommandResult, Failed, Finished, GroupResult, HostEvent, HostResult, Started, Upload
from kamal_nb.fleet.runner import Step
from kamal_nb.ops.plan import PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.redaction import redact


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


class Interrupted(Exception):
    """Raised inside an operation when another host's worker was interrupted: stop here."""


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


@dataclass(frozen=True)
class Tolerated(CommandResult):
    """A command whose failure Kamal ignores (`raise_on_non_zero_exit: false`): it keeps its exit
    code and output, and does not make its host fail."""

    @property
    def ok(self) -> bool:
        return True


def tolerated(result: CommandResult) -> CommandResult:
    """The same result, marked as a failure Kamal ignores."""
    return Tolerated(**{f.name: getattr(result, f.name) for f in fields(result)})


def send(ctx: Context, rec: Recorder, trips: Mapping[str, Trip], *, record: bool = True) -> dict[str, Reply]:
    """One round trip on each host (in parallel); the replies, recorded in `rec`.

    Raises `Interrupted` instead of sending when the operation was interrupted meanwhile.
    """
    if rec.cancelled.is_set():
        raise Interrupted()
    if not trips:
        return {}
    steps: dict[str, list[Step]] = {}
    for host, trip in trips.items():
        steps[host] = [trip] if isinstance(trip, Upload) else [round_trip(trip)]
    try:
        group = ctx.runner.run(steps, stop_on_failure=True)
    except KeyboardInterrupt:
        rec.cancelled.set()
        raise
    replies: dict[str, Reply] = {}
    for host, trip in trips.items():
        host_result = group[host]
        commands: Sequence[Cmd] = () if isinstance(trip, Upload) else trip
        results: list[CommandResult] = []
        failure: str | None = host_result.error
        for index, result in enumerate(host_result.commands):
            strict = isinstance(trip, Upload) or (index < len(commands) and commands[index].strict)
            if result.ok or strict:
                results.append(result)
                if not result.ok and failure is None:
                    detail = (result.stderr.strip() or result.stdout.strip()).splitlines()
                    failure = f"`{result.command}` exited {result.exit_code}" + (f": {detail[-1]}" if detail else "")
            else:
                results.append(tolerated(result))
        if record:
            rec.add(host, results, host_result.duration)
            if failure is not None and host_result.error is not None:
                rec.fail(host, failure)
        # the raw results (real exit codes) are what callers inspect
        replies[host] = Reply(host, tuple(host_result.commands), host_result.error, failure)
    return replies


# -- Kamal's common steps -----------------------------------------------------------------------


def registry_login(ctx: Context) -> list[Cmd]:
    """`docker login <server> -u [REDACTED] -p [REDACTED]` (nothing for a local registry)."""
    login = Registry(ctx.config).login()
    return [Cmd(login)] if login is not None else []


def network_create(ctx: Context) -> Cmd:
    """`docker network create kamal`: "already exists" is not a failure (check with `network_failed`)."""
    return Cmd(Docker(ctx.config).create_network(), strict=False, note='"already exists" is fine')


def network_failed(reply: Reply, index: int) -> str | None:
    """Why `docker network create kamal` (command `index` of the reply) really failed, or None."""
    code = reply.code(index)
    if code in (None, 0) or "already exists" in reply.err(index) + reply.out(index):
        return None
    return f"`docker network create kamal` exited {code}: {reply.err(index) or reply.out(index)}"


def proxy_boot_first(ctx: Context, host: str) -> list[Cmd]:
    """First round trip of `proxy boot` on a host: the network, and on proxy hosts the registry
    login and the running kamal-proxy's version (checked with `proxy_version_error`)."""
    commands = [network_create(ctx)]
    if host in ctx.config.proxy_hosts:
        commands += registry_login(ctx)
        commands.append(Cmd(Proxy(ctx.config, host=host).version(), strict=False, note="empty if not running"))
    return commands


def proxy_boot_second(ctx: Context, host: str) -> list[Cmd]:
    """Second round trip on proxy hosts: apps-config directory, then start or run kamal-proxy."""
    proxy = Proxy(ctx.config, host=host)
    return [Cmd(proxy.ensure_apps_config_directory()), Cmd(proxy.start_or_run())]


def _version_key(version: str) -> tuple[int, ...]:
    parts = []
    for part in version.lstrip("v").split("."):
        digits = "".join(c for c in part if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def proxy_version_error(version: str) -> str | None:
    """Kamal refuses a kamal-proxy older than its minimum version."""
    version = version.strip()
    if version and _version_key(version) < _version_key(MINIMUM_VERSION):
        return (
            f"kamal-proxy version {version} is too old, run `kamal proxy reboot` in order to update to at least "
            f"{MINIMUM_VERSION}"
        )
    return None


def planned(host: str, commands: Sequence[Cmd] | Upload, role: str | None = None) -> list[PlannedStep]:
    """Plan lines for a round trip: one line per command, with its note."""
    if isinstance(commands, Upload):
        return [PlannedStep(host, commands, role)]
    return [PlannedStep(host, c.command, role, c.note) for c in commands]


__all__ = [
    "Cmd",
    "GuardedBatch",
    "Interrupted",
    "OperationInterrupted",
    "Recorder",
    "Reply",
    "Tolerated",
    "Trip",
    "network_create",
    "network_failed",
    "planned",
    "proxy_boot_first",
    "proxy_boot_second",
    "proxy_version_error",
    "registry_login",
    "round_trip",
    "send",
    "tolerated",
    "tracking",
]
