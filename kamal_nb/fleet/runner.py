"""Run steps on many hosts at once over pooled SSH connections, publishing host events.

    runner = FleetRunner(SshSettings(user="root", keys=("~/.ssh/id_ed25519",)))
    result = runner.run({"10.0.0.1": ["docker ps"], "10.0.0.2": ["docker ps"]})
    result["10.0.0.1"].stdout

Each host's steps run in order, in that host's own worker; hosts run in parallel up to
``max_parallel``. A host that cannot be reached, refuses the key or times out gets a failed result
with the reason, and the others carry on. Nothing here knows what Kamal is.
"""

from __future__ import annotations

import contextlib
import re
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from kamal_nb.fleet import hangup
from kamal_nb.fleet.events import EventStream, Failed, Finished, Started
from kamal_nb.fleet.fanout import fan_out
from kamal_nb.fleet.hostkeys import HostKeyError
from kamal_nb.fleet.output import OutputEmitter
from kamal_nb.fleet.pool import ConnectionPool, HostUnreachable
from kamal_nb.fleet.results import CommandResult, GroupResult, HostResult
from kamal_nb.fleet.settings import SshSettings
from kamal_nb.fleet.unbuffered import on_channel
from kamal_nb.fleet.upload import write_file
from kamal_nb.redaction import redact

if TYPE_CHECKING:
    from fabric import Connection


@runtime_checkable
class RemoteCommand(Protocol):
    """A command that knows its wire text (secrets revealed) apart from its display (redacted)."""

    def wire(self) -> str: ...


@dataclass(frozen=True)
class Upload:
    """Write ``content`` to ``path`` on the host (relative to the login directory) with ``mode``."""

    path: str
    content: bytes = field(repr=False)  # env files carry secrets: never in a repr, a log or a plan
    mode: int = 0o644

    def __str__(self) -> str:
        return f"upload {self.path} ({len(self.content)} bytes, mode {self.mode:04o})"


@dataclass(frozen=True)
class Batch:
    """Several commands sent in one round trip; each still gets its own output and exit code.

    Each runs in a subshell, so one that exits or fails does not stop the others. Their outputs
    are told apart by marker lines carrying a random token and the exit code.
    """

    commands: tuple[str | RemoteCommand, ...]
    token: str = field(default_factory=lambda: secrets.token_hex(8))

    @property
    def marker(self) -> str:
        return f"__kamal_nb_{self.token}__"

    def part_done(self, part: int, exit_code: int) -> None:
        """Called as soon as command `part` has ended on the host, while the rest still runs, so that
        a caller can act on it before the round trip is over (nothing by default)."""

    def wire(self) -> str:
        marker = self.marker
        return "; ".join(
            f"( {c if isinstance(c, str) else c.wire()} ); printf '%s %s\\n' {marker} $?; printf '%s\\n' {marker} >&2"
            for c in self.commands
        )

    def __str__(self) -> str:
        return "\n".join(str(c) for c in self.commands)

    def split(self, stdout: str, stderr: str) -> list[tuple[str, int, str, str]]:
        """(display, exit code, stdout, stderr) of each command that ran, from the batch's output."""
        outs = re.split(rf"{self.marker} (-?\d+)\n", stdout)
        errs = stderr.split(f"{self.marker}\n")
        ran = (len(outs) - 1) // 2  # a batch cut short (a timeout) leaves the rest unrun
        return [
            (str(self.commands[i]), int(outs[2 * i + 1]), outs[2 * i], errs[i] if i < len(errs) else "")
            for i in range(ran)
        ]


Step = str | RemoteCommand | Upload | Batch


class CommandTimeout(Exception):
    pass


class _Cancelled(Exception):
    pass


class HostPool(Protocol):
    """What the runner needs from a pool: ConnectionPool (SSH), or kamal_nb.sandbox's SandboxPool."""

    opened: int  # connections opened so far (reconnects count too)

    def get(self, host: str) -> Connection: ...
    def discard(self, host: str) -> None: ...
    def close(self) -> None: ...


class FleetRunner:
    def __init__(
        self, settings: SshSettings | None = None, events: EventStream | None = None, pool: HostPool | None = None
    ) -> None:
        self.settings = settings or SshSettings()
        self.events = events or EventStream()
        # another pool (the sandbox's local-directory hosts) stands in for SSH connections
        self.pool: HostPool = pool if pool is not None else ConnectionPool(self.settings)
        self._cancel = threading.Event()
        self._upload_locks: dict[str, threading.Lock] = {}
        self._upload_locks_guard = threading.Lock()
        self._running: set[Any] = set()  # the SSH channels of the commands running now
        self._running_lock = threading.Lock()
        self._hang_ups = 0  # how many times abort() ran: a command started before it was hung up

    def abort(self) -> None:
        """Hang up every command running now (an interrupt): their channels are closed at once, so
        the host's sshd ends the session (a command on a terminal gets SIGHUP; one writing output
        gets SIGPIPE), nothing more of their output is shown, and their hosts fail "interrupted"."""
        with self._running_lock:
            self._hang_ups += 1
            channels = list(self._running)
        for channel in channels:
            # closing sends two small messages; a silent host must not hold the interrupt up
            threading.Thread(target=_close_quietly, args=(channel,), name="kamal-nb-hangup", daemon=True).start()

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> FleetRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_all(self, hosts: Sequence[str], *steps: Step, stop_on_failure: bool = True) -> GroupResult:
        """The same steps on every host."""
        return self.run({host: steps for host in hosts}, stop_on_failure=stop_on_failure)

    def run(
        self, plan: Mapping[str, Sequence[Step]], *, stop_on_failure: bool = True, tolerated: bool = False
    ) -> GroupResult:
        """Run each host's steps in order, hosts in parallel; returns every host's result.

        With ``stop_on_failure`` a host stops at its first failing step. A KeyboardInterrupt hangs up
        the steps running now, starts no new ones, and is raised again. ``tolerated``: the caller
        expects these steps may exit non-zero (their Finished events say so, for the views).
        """
        if not plan:
            return GroupResult({})
        self._cancel.clear()
        hosts = list(plan)
        results = fan_out(
            hosts,
            lambda host: self._run_host(host, plan[host], stop_on_failure, tolerated),
            workers=self.settings.max_parallel,
            cancel=self._cancel,
            on_interrupt=self.abort,
        )
        return GroupResult(dict(zip(hosts, results, strict=True)))

    # -- one host --------------------------------------------------------------------------------

    def _run_host(self, host: str, steps: Sequence[Step], stop_on_failure: bool, tolerated: bool) -> HostResult:
        started = time.monotonic()
        done: list[CommandResult] = []
        for index, step in enumerate(steps):
            if self._cancel.is_set():
                return HostResult(host, tuple(done), "interrupted before this step", time.monotonic() - started)
            try:
                commands = self._run_step(host, index, step, tolerated)
            except (HostUnreachable, HostKeyError, CommandTimeout, _Cancelled) as error:
                reason = str(error)
                self.events.publish(Failed(host, index, reason))
                return HostResult(host, tuple(done), reason, time.monotonic() - started)
            done += commands
            if stop_on_failure and not all(c.ok for c in commands):
                break
        return HostResult(host, tuple(done), None, time.monotonic() - started)

    def _run_step(self, host: str, index: int, step: Step, tolerated: bool = False) -> list[CommandResult]:
        display = redact(str(step))
        self.events.publish(Started(host, index, display))
        began, wall = time.monotonic(), time.time()
        for attempt in (1, 2):
            conn = self.pool.get(host)
            try:
                if isinstance(step, Upload):
                    # A connection has one SFTP session, and paramiko's SFTPClient is not safe for two
                    # threads at once (one reads the other's reply, both wait forever): one at a time.
                    with self._upload_lock(host):
                        exit_code, out, err = self._upload(conn, step)
                    ends: list[float] = []
                else:
                    exit_code, out, err, ends = self._execute(conn, host, index, step)
                break
            except _ChannelNotOpened as error:
                # The connection died since its last use and the command was never sent, so a
                # second try on a fresh connection cannot run it twice.
                self.pool.discard(host)
                if attempt == 2:
                    raise HostUnreachable(f"{host}: connection lost ({error})") from None
        duration = time.monotonic() - began
        self.events.publish(Finished(host, index, exit_code, duration, tolerated and exit_code != 0))
        if isinstance(step, Batch):
            parts = step.split(out, err)
            # each command ran from the previous one's end marker to its own (as seen from here)
            bounds = [began, *ends[: len(parts)]]
            if len(bounds) <= len(parts):  # markers lost (cannot happen with whole output): share out
                bounds = [began + i * duration / max(1, len(parts)) for i in range(len(parts) + 1)]
            return [
                CommandResult(
                    host, redact(d), code, redact(o), redact(e), bounds[i + 1] - bounds[i], wall + bounds[i] - began
                )
                for i, (d, code, o, e) in enumerate(parts)
            ]
        return [CommandResult(host, display, exit_code, redact(out), redact(err), duration, wall)]

    def _execute(
        self, conn: Connection, host: str, index: int, step: str | RemoteCommand | Batch
    ) -> tuple[int, str, str, list[float]]:
        """Exit code, kept stdout and stderr, and (for a batch) when each of its commands ended."""
        import paramiko
        from invoke.exceptions import CommandTimedOut

        wire = step if isinstance(step, str) else step.wire()
        if isinstance(self.pool, ConnectionPool):  # over SSH: hung up on the host when its channel closes
            wire = hangup.wrap(wire)
        batch = step if isinstance(step, Batch) else None
        marker = batch.marker if batch else None
        generation = self._hang_ups
        live = lambda: self._hang_ups == generation  # noqa: E731
        out = OutputEmitter(self.events, host, index, "stdout", marker, batch=batch, live=live)
        err = OutputEmitter(self.events, host, index, "stderr", marker, live=live)
        timeout = self.settings.command_timeout
        began = time.monotonic()
        channels: list[Any] = []

        def started(channel: Any) -> None:
            with self._running_lock:
                channels.append(channel)
                self._running.add(channel)
                hung_up = self._hang_ups != generation
            if hung_up:
                _close_quietly(channel)

        on_channel(started)
        try:
            result = conn.run(
                wire, hide=False, warn=True, in_stream=False, out_stream=out, err_stream=err, timeout=timeout
            )
        except CommandTimedOut:
            result = None
        except (paramiko.ChannelException, paramiko.SSHException, EOFError) as error:
            self._lost_or_hung_up(host, generation)
            if _is_channel_open_failure(error):
                raise _ChannelNotOpened(str(error)) from None
            self.pool.discard(host)
            raise HostUnreachable(f"{host}: connection lost while the command ran ({error})") from None
        finally:
            on_channel(None)
            with self._running_lock:
                self._running.difference_update(channels)
            out.finish()
            err.finish()
        self._lost_or_hung_up(host, generation)
        # invoke decides "timed out" by its timer thread having ended; when the command returns while
        # that thread is still closing the channel, invoke reports exit -1 instead: the same timeout
        late = timeout is not None and time.monotonic() - began >= timeout
        if result is None or (late and result.exited == -1):
            self.pool.discard(host)  # the channel may still be busy: never reuse it
            raise CommandTimeout(f"{host}: command timed out after {timeout:g}s")
        # the streams kept the output (bounded); invoke's result carries none of it (unbuffered)
        return int(result.exited), out.text(), err.text(), out.ends

    def _lost_or_hung_up(self, host: str, generation: int) -> None:
        """Raise when the command ended because its host was declared lost, or it was hung up."""
        lost = getattr(self.pool, "lost", None)
        why = lost(host) if lost is not None else None
        if why is not None:
            self.pool.discard(host)
            raise HostUnreachable(why)
        if self._hang_ups != generation:
            raise _Cancelled(f"{host}: interrupted; the running command was hung up")

    def _upload_lock(self, host: str) -> threading.Lock:
        with self._upload_locks_guard:
            return self._upload_locks.setdefault(host, threading.Lock())

    @staticmethod
    def _upload(conn: Connection, upload: Upload) -> tuple[int, str, str]:
        try:
            # the mode is set before any byte is written: a secret is never readable by others
            write_file(conn.sftp(), upload.path, upload.content, upload.mode)
        except OSError as error:
            return 1, "", f"upload to {upload.path} failed: {error.strerror or error}"
        return 0, "", ""


class _ChannelNotOpened(Exception):
    pass


def _close_quietly(channel: Any) -> None:
    # a transport already gone: the channel is closed either way
    with contextlib.suppress(Exception):
        channel.close()


def _is_channel_open_failure(error: BaseException) -> bool:
    import paramiko

    if isinstance(error, paramiko.ChannelException):
        return True
    text = str(error)
    return "session not active" in text or "Timeout opening channel" in text or "Unable to open channel" in text
