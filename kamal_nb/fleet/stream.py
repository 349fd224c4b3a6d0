"""A command that streams until it ends or is stopped (``docker logs --follow``, a long ``exec``).

Unlike the runner's steps it keeps no output and has no command timeout: each line goes to a callback
as it arrives, and ``stop()`` ends it on the host. The command runs on a pseudo-terminal, as Kamal's
``ssh -t`` runs it, so that closing the channel hangs up the whole pipeline on the host (sshd closes
the terminal; the kernel sends SIGHUP to its processes) and nothing is left running there.

Two transports, after the pool's connection: an SSH connection (one paramiko channel of the warm
connection) or a sandbox host (a local process group, hung up the same way).
"""

from __future__ import annotations

import codecs
import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from typing import Any

from kamal_nb.fleet.output import LINE_LIMIT
from kamal_nb.redaction import redact

LineCallback = Callable[[str], None]

# how long stop() waits for the reader to see the end before giving up on it
STOP_WAIT = 5.0


class StreamedCommand:
    """One command on one host, streaming lines to ``on_line`` (redacted, without line ends)."""

    def __init__(self, wire: str, on_line: LineCallback) -> None:
        self.wire = wire
        self._on_line = on_line
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._partial = ""
        self._reader: threading.Thread | None = None
        self._stopping = threading.Event()
        self.ended = threading.Event()
        self.exit_code: int | None = None
        self.error: str | None = None
        self._channel: Any = None
        self._process: subprocess.Popen[bytes] | None = None

    # -- starting --------------------------------------------------------------------------------

    def start(self, connection: Any, *, open_timeout: float = 30.0) -> None:
        """Start on ``connection`` (a fabric Connection, or a sandbox host's connection)."""
        if hasattr(connection, "host_dir") and hasattr(connection, "env"):
            self._start_local(connection)
        else:
            self._start_ssh(connection, open_timeout)
        self._reader = threading.Thread(target=self._read, name="kamal-nb-stream", daemon=True)
        self._reader.start()

    def _start_ssh(self, connection: Any, open_timeout: float) -> None:
        transport = connection.client.get_transport()
        if transport is None or not transport.is_active():
            raise EOFError("the SSH connection is closed")
        channel = transport.open_session(timeout=open_timeout)
        # wide, so that the terminal never folds a line; "dumb", so that nothing colours it
        channel.get_pty(term="dumb", width=4096, height=200)
        channel.exec_command(self.wire)
        self._channel = channel

    def _start_local(self, connection: Any) -> None:
        import shlex

        script = f"cd {shlex.quote(str(connection.host_dir))} || exit 1\n{self.wire}"
        self._process = subprocess.Popen(
            ["/bin/bash", "-c", script],
            env=connection.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, hung up as one by stop()
        )

    # -- reading ---------------------------------------------------------------------------------

    def _read(self) -> None:
        try:
            if self._channel is not None:
                self._read_channel(self._channel)
            elif self._process is not None and self._process.stdout is not None:
                descriptor = self._process.stdout.fileno()
                for chunk in iter(lambda: os.read(descriptor, 65536), b""):
                    self._feed(chunk)
                self.exit_code = self._process.wait()
        except Exception as error:  # a dropped connection: say so, end the stream
            if not self._stopping.is_set():
                self.error = str(error) or type(error).__name__
        finally:
            self._feed(b"", final=True)
            self.ended.set()

    def _read_channel(self, channel: Any) -> None:
        while True:
            data = channel.recv(65536)
            if not data:
                break
            self._feed(data)
        if not self._stopping.is_set():
            # the output's end may come before the exit status: wait for it (the channel's close ends the wait)
            self.exit_code = int(channel.recv_exit_status())

    def _feed(self, data: bytes, *, final: bool = False) -> None:
        text = self._partial + self._decoder.decode(data, final=final)
        if final:
            whole, self._partial = text.removesuffix("\n"), ""
            if not text:
                return
        else:
            end = text.rfind("\n")
            if end < 0 and len(text) <= LINE_LIMIT:
                self._partial = text
                return
            if end < 0:  # a line without an end in sight (a progress bar): passed on in pieces
                end = LINE_LIMIT
                whole, self._partial = text[:end], text[end:]
            else:
                whole, self._partial = text[:end], text[end + 1 :]
        # the whole lines of a read masked at once (a line is whole in it, so is any secret on it)
        for line in redact(whole).split("\n"):
            self._on_line(line.rstrip("\r"))

    # -- stopping --------------------------------------------------------------------------------

    def stop(self) -> None:
        """End the command on the host and wait (bounded) for the reader to finish."""
        self._stopping.set()
        if self._channel is not None:
            self._channel.close()
        if self._process is not None and self._process.poll() is None:
            _signal_group(self._process.pid, signal.SIGHUP)
            try:
                self._process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                _signal_group(self._process.pid, signal.SIGKILL)
                self._process.wait(timeout=STOP_WAIT)
        if self._reader is not None:
            self._reader.join(STOP_WAIT)

    @property
    def channel_open(self) -> bool:
        """Whether this side still holds an open channel (or a live process) for the command."""
        if self._channel is not None:
            return not self._channel.closed
        return self._process is not None and self._process.poll() is None


def _signal_group(pid: int, which: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, which)
