"""Run steps on many hosts at once over pooled SSH connections, publishing host events.

    runner = FleetRunner(SshSettings(user="root", keys=("~/.ssh/id_ed25519",)))
    result = runner.run({"10.0.0.1": ["docker ps"], "10.0.0.2": ["docker ps"]})
    result["10.0.0.1"].stdout

Each host's steps run in order, in that host's own worker; hosts run in parallel up to
``max_parallel``. A host that cannot be reached, refuses the key or times out gets a failed result
with the reason, and the others carry on. Nothing here knows what Kamal is.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Protocol, runtime_checkable

from kamal_nb.fleet.events import EventStream, Failed, Finished, Output, Started
from kamal_nb.fleet.hostkeys import HostKeyError
from kamal_nb.fleet.pool import ConnectionPool, HostUnreachable
from kamal_nb.fleet.results import CommandResult, GroupResult, HostResult
from kamal_nb.fleet.settings import SshSettings
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
    content: bytes
    mode: int = 0o644

    def __str__(self) -> str:
        return f"upload {self.path} ({len(self.content)} bytes, mode {self.mode:04o})"


Step = str | RemoteCommand | Upload


class CommandTimeout(Exception):
    pass


class _Cancelled(Exception):
    pass


class _LineEmitter:
    """A write-only stream that turns chunks of output into one Output event per line."""

    def __init__(self, publish: EventStream, host: str, index: int, stream: Literal["stdout", "stderr"]) -> None:
        self._events, self._host, self._index, self._stream = publish, host, index, stream
        self._partial = ""

    def write(self, chunk: str) -> int:
        text = self._partial + chunk
        *lines, self._partial = text.split("\n")
        for line in lines:
            self._events.publish(Output(self._host, self._index, self._stream, redact(line.rstrip("\r"))))
        return len(chunk)

    def flush(self) -> None:
        if self._partial:
            self._events.publish(Output(self._host, self._index, self._stream, redact(self._partial)))
            self._partial = ""


class FleetRunner:
    def __init__(self, settings: SshSettings | None = None, events: EventStream | None = None) -> None:
        self.settings = settings or SshSettings()
        self.events = events or EventStream()
        self.pool = ConnectionPool(self.settings)
        self._cancel = threading.Event()

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> FleetRunner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def run_all(self, hosts: Sequence[str], *steps: Step, stop_on_failure: bool = True) -> GroupResult:
        """The same steps on every host."""
        return self.run({host: steps for host in hosts}, stop_on_failure=stop_on_failure)

    def run(self, plan: Mapping[str, Sequence[Step]], *, stop_on_failure: bool = True) -> GroupResult:
        """Run each host's steps in order, hosts in parallel; returns every host's result.

        With ``stop_on_failure`` a host stops at its first failing step. A KeyboardInterrupt lets the
        steps already running finish, starts no new ones, and is raised again.
        """
        if not plan:
            return GroupResult({})
        self._cancel.clear()
        workers = max(1, min(self.settings.max_parallel, len(plan)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kamal-nb-host") as pool:
            futures = {host: pool.submit(self._run_host, host, steps, stop_on_failure) for host, steps in plan.items()}
            try:
                results = {host: future.result() for host, future in futures.items()}
            except KeyboardInterrupt:
                self._cancel.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
        return GroupResult(results)

    # -- one host --------------------------------------------------------------------------------

    def _run_host(self, host: str, steps: Sequence[Step], stop_on_failure: bool) -> HostResult:
        started = time.monotonic()
        done: list[CommandResult] = []
        for index, step in enumerate(steps):
            if self._cancel.is_set():
                return HostResult(host, tuple(done), "interrupted before this step", time.monotonic() - started)
            try:
                command = self._run_step(host, index, step)
            except (HostUnreachable, HostKeyError, CommandTimeout, _Cancelled) as error:
                reason = str(error)
                self.events.publish(Failed(host, index, reason))
                return HostResult(host, tuple(done), reason, time.monotonic() - started)
            done.append(command)
            if stop_on_failure and not command.ok:
                break
        return HostResult(host, tuple(done), None, time.monotonic() - started)

    def _run_step(self, host: str, index: int, step: Step) -> CommandResult:
        display = redact(str(step))
        self.events.publish(Started(host, index, display))
        began = time.monotonic()
        for attempt in (1, 2):
            conn = self.pool.get(host)
            try:
                if isinstance(step, Upload):
                    exit_code, out, err = self._upload(conn, step)
                else:
                    exit_code, out, err = self._execute(conn, host, index, step)
                break
            except _ChannelNotOpened as error:
                # The connection died since its last use and the command was never sent, so a
                # second try on a fresh connection cannot run it twice.
                self.pool.discard(host)
                if attempt == 2:
                    raise HostUnreachable(f"{host}: connection lost ({error})") from None
        duration = time.monotonic() - began
        self.events.publish(Finished(host, index, exit_code, duration))
        return CommandResult(host, display, exit_code, redact(out), redact(err), duration)

    def _execute(self, conn: Connection, host: str, index: int, step: str | RemoteCommand) -> tuple[int, str, str]:
        import paramiko
        from invoke.exceptions import CommandTimedOut

        wire = step if isinstance(step, str) else step.wire()
        out = _LineEmitter(self.events, host, index, "stdout")
        err = _LineEmitter(self.events, host, index, "stderr")
        timeout = self.settings.command_timeout
        try:
            result = conn.run(
                wire, hide=False, warn=True, in_stream=False, out_stream=out, err_stream=err, timeout=timeout
            )
        except CommandTimedOut:
            self.pool.discard(host)  # the channel may still be busy: never reuse it
            raise CommandTimeout(f"{host}: command timed out after {timeout:g}s") from None
        except (paramiko.ChannelException, paramiko.SSHException, EOFError) as error:
            if _is_channel_open_failure(error):
                raise _ChannelNotOpened(str(error)) from None
            self.pool.discard(host)
            raise HostUnreachable(f"{host}: connection lost while the command ran ({error})") from None
        finally:
            out.flush()
            err.flush()
        return int(result.exited), str(result.stdout), str(result.stderr)

    @staticmethod
    def _upload(conn: Connection, upload: Upload) -> tuple[int, str, str]:
        try:
            with conn.sftp().open(upload.path, "w") as remote:
                # the mode is set before any byte is written: a secret is never readable by others
                remote.chmod(upload.mode)
                remote.write(upload.content)
        except OSError as error:
            return 1, "", f"upload to {upload.path} failed: {error.strerror or error}"
        return 0, "", ""


class _ChannelNotOpened(Exception):
    pass


def _is_channel_open_failure(error: BaseException) -> bool:
    import paramiko

    if isinstance(error, paramiko.ChannelException):
        return True
    text = str(error)
    return "session not active" in text or "Timeout opening channel" in text or "Unable to open channel" in text
