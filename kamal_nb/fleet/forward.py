"""SSH remote port forwarding on a connection that is already open (``ssh -R PORT:HOST:PORT``).

The remote sshd listens on ``bind:port`` of the host (loopback); each connection it accepts there
arrives here as a channel, which is joined to a fresh TCP connection to ``target`` on this machine.
Closing the forward cancels it (sshd stops listening) and closes every joined connection, so
nothing is left listening on the host nor open here.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import Any


class ForwardError(Exception):
    """The host's sshd refused the forward (port in use there, forwarding disabled)."""


class RemoteForward:
    def __init__(self, transport: Any, port: int, target: tuple[str, int], *, bind: str = "127.0.0.1") -> None:
        self.transport = transport
        self.port = port
        self.target = target
        self.bind = bind
        self.connections = 0  # connections the host made through the forward
        self.errors: list[str] = []
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        self._closed = False

    def open(self) -> RemoteForward:
        import paramiko

        try:
            self.transport.request_port_forward(self.bind, self.port, handler=self._accepted)
        except paramiko.SSHException as error:
            raise ForwardError(
                f"the host refused to forward {self.bind}:{self.port} to this machine ({error}): "
                "is the port in use there, or AllowTcpForwarding off?"
            ) from None
        return self

    def _accepted(self, channel: Any, origin: tuple[str, int], server: tuple[str, int]) -> None:
        # called on paramiko's transport thread: connect and pump elsewhere
        threading.Thread(target=self._join, args=(channel,), daemon=True, name="kamal-nb-forward").start()

    def _join(self, channel: Any) -> None:
        try:
            local = socket.create_connection(self.target, timeout=10)
        except OSError as error:
            self.errors.append(f"{self.target[0]}:{self.target[1]} on this machine: {error}")
            channel.close()
            return
        local.settimeout(None)
        with self._lock:
            if self._closed:
                local.close()
                channel.close()
                return
            self.connections += 1
            self._open.update((local, channel))
        threading.Thread(target=self._pump, args=(channel, local), daemon=True).start()
        try:
            with contextlib.suppress(OSError, EOFError):
                while data := local.recv(65536):
                    channel.sendall(data)
        finally:
            self._end(channel, local)

    def _pump(self, channel: Any, local: socket.socket) -> None:
        with contextlib.suppress(OSError, EOFError):
            while data := channel.recv(65536):
                local.sendall(data)
            local.shutdown(socket.SHUT_WR)

    def _end(self, channel: Any, local: socket.socket) -> None:
        with self._lock:
            self._open.discard(channel)
            self._open.discard(local)
        with contextlib.suppress(OSError):
            local.close()
        channel.close()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            leftovers, self._open = list(self._open), set()
        if self.transport.is_active():
            with contextlib.suppress(Exception):  # a dead connection has nothing listening any more
                self.transport.cancel_port_forward(self.bind, self.port)
        for end in leftovers:
            with contextlib.suppress(OSError):
                end.close()

    def __enter__(self) -> RemoteForward:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
