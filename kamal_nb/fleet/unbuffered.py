"""invoke runners that keep no copy of a command's output: the SSH pool's and the sandbox's."""

from __future__ import annotations

import codecs
import contextlib
import threading
from collections.abc import Callable, Iterator
from typing import Any

from kamal_nb.fleet.output import READ_SIZE

# The runner's worker sets `started` before it runs a command: the SSH runner hands it the channel
# the command runs on, so that an interrupt can close it (see FleetRunner.abort).
_this_thread = threading.local()


def on_channel(started: Callable[[Any], None] | None) -> None:
    """Call ``started(channel)`` for each SSH command this thread starts from now on (None: stop)."""
    _this_thread.started = started


def unbuffered(runner_class: type[Any]) -> type[Any]:
    """An invoke Runner class that does not keep a copy of the whole output (invoke's own buffer,
    which also re-joins it on every chunk): the runner's out/err streams keep what is kept."""

    class Unbuffered(runner_class):  # type: ignore[misc]
        # invoke reads 1000 bytes at a time: 64 KiB makes a read (and an Output event) per chunk
        read_chunk_size = READ_SIZE

        def read_proc_output(self, reader: Callable[[int], bytes | None]) -> Iterator[str]:
            # one decoder per stream: a character whose bytes two reads split is not lost to "replace"
            decoder = codecs.getincrementaldecoder(self.encoding)("replace")
            while True:
                data = reader(self.read_chunk_size)
                if not data:  # b"", or None (invoke's Local once the process is gone)
                    break
                text = decoder.decode(data)
                if text:
                    yield text
            rest = decoder.decode(b"", final=True)
            if rest:
                yield rest

        def _handle_output(self, buffer_: list[str], hide: bool, output: Any, reader: Any) -> None:
            for data in self.read_proc_output(reader):
                if not hide:
                    self.write_our_output(stream=output, string=data)

        def wait(self) -> None:
            # invoke looks every `input_sleep` (10 ms) for the command's end: on an SSH channel, wake
            # when its exit status (or its close: a kill, a lost host) comes instead, so a round trip
            # ends when the host answers, not up to 10 ms later; a reader thread that died is still
            # seen at each look, as invoke's own wait sees it
            status = getattr(getattr(self, "channel", None), "status_event", None)
            if status is None:
                super().wait()
                return
            while not status.wait(self.input_sleep):
                if self.has_dead_threads:
                    break

        def kill(self) -> None:
            # invoke's timeout timer kills the command from its own thread: on a dead connection the
            # channel's close raises there (EOFError), and Python prints that thread's traceback on
            # stderr. The timeout is reported by the runner in one line; the channel is gone anyway.
            from paramiko import SSHException

            with contextlib.suppress(EOFError, OSError, SSHException):
                super().kill()

        def start(self, *args: Any, **kwargs: Any) -> Any:
            started = super().start(*args, **kwargs)
            channel = getattr(self, "channel", None)
            tell = getattr(_this_thread, "started", None)
            if channel is not None and tell is not None:
                tell(channel)
            return started

    Unbuffered.__name__ = Unbuffered.__qualname__ = f"Unbuffered{runner_class.__name__}"
    return Unbuffered
