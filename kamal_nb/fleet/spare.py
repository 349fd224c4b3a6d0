"""A session channel opened ahead on each connection, so that a command costs one round trip less.

Every command runs on a channel of its own, and opening one is a round trip of its own (the exec
request names the channel number the host answered with): two round trips a command. While a
command runs, the next one's channel is opened in the background; the next command then only sends
its exec request. The commands sent are unchanged, and sshd starts nothing for an unused channel.
"""

from __future__ import annotations

import functools
import threading
import weakref
from collections.abc import Callable
from typing import Any

# one channel ahead per transport (a connection's SSH session), opened by a daemon thread
_spares: weakref.WeakKeyDictionary[Any, _Spare] = weakref.WeakKeyDictionary()
_guard = threading.Lock()


class _Spare:
    def __init__(self, transport: Any) -> None:
        self.channel: Any = None
        self._thread = threading.Thread(target=self._open, args=(transport,), daemon=True, name="kamal-nb-spare")
        self._thread.start()

    def _open(self, transport: Any) -> None:
        try:
            self.channel = transport.open_session()
        except Exception:  # the command's own open, which follows, reports why
            self.channel = None

    def take(self, timeout: float) -> Any:
        """The channel if it opened and is still usable (None otherwise); waits at most ``timeout``."""
        self._thread.join(timeout)
        channel = self.channel
        if self._thread.is_alive() or channel is None:
            return None
        if channel.closed or not channel.active:
            return None
        return channel


def take_session(transport: Any) -> Any:
    """A session channel for a command: the one opened ahead if usable, else a new one; either way
    another is opened ahead for the next command. Each wait is paramiko's channel-open bound (a
    transport closed by the liveness rule ends it at once)."""
    with _guard:
        spare = _spares.pop(transport, None)
        if transport.is_active():
            _spares[transport] = _Spare(transport)
    channel = spare.take(transport.channel_timeout) if spare is not None else None
    return channel if channel is not None else transport.open_session()


def no_answer_in_time(channel: Any, timeout: float, silent: Callable[[], Exception]) -> None:
    """Bound the wait for the answer to the channel's exec request, as opening it was bounded: a
    channel opened ahead may meet a host that stopped answering since. The request may have reached
    the host, so this is a failure of the host (``silent()``), never one to retry."""
    wait = channel._wait_for_event

    def bounded() -> None:
        if not channel.event.wait(timeout):
            channel.close()
            raise silent()
        wait()

    channel._wait_for_event = bounded


@functools.cache
def spare_connection() -> type[Any]:
    """fabric's Connection whose commands take their channel from `take_session`; ``silent`` makes
    the error for a host that does not answer a command's start within the channel timeout."""
    from fabric import Connection

    class SpareConnection(Connection):  # type: ignore[misc]
        silent: Callable[[], Exception] = staticmethod(lambda: TimeoutError("no answer to the command's start"))

        def create_session(self) -> Any:
            channel = take_session(self.transport)
            no_answer_in_time(channel, self.transport.channel_timeout, self.silent)
            if self.forward_agent:  # what fabric's own create_session does besides opening
                from paramiko.agent import AgentRequestHandler

                self._agent_handler = AgentRequestHandler(channel)
            return channel

    return SpareConnection
