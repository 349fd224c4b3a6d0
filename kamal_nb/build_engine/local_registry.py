"""Kamal's local registry (``registry.server: localhost:PORT``), seen from the hosts.

The registry runs as the ``kamal-docker-registry`` container on this machine's engine, published on
``127.0.0.1:PORT``. A host reaches it through SSH remote port forwarding of PORT on kamal_nb's own
connection to that host, opened for the pulls (or a remote build's push) and closed right after:
the host's engine pulls ``localhost:PORT/IMAGE`` from its own loopback, where its sshd listens.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Protocol

from kamal_nb.fleet.fanout import fan_out
from kamal_nb.fleet.forward import RemoteForward


class Forwarding(Protocol):
    """What is needed of a pool: kamal_nb.fleet.pool.ConnectionPool."""

    def forward_remote(self, host: str, port: int, target: tuple[str, int]) -> RemoteForward: ...


@contextlib.contextmanager
def registry_forwards(pool: Forwarding, hosts: Sequence[str], port: int) -> Iterator[dict[str, RemoteForward]]:
    """PORT on each host's loopback forwarded to 127.0.0.1:PORT here, while the block runs."""
    opened: dict[str, RemoteForward] = {}

    def open_on(host: str) -> BaseException | None:
        try:
            opened[host] = pool.forward_remote(host, port, ("127.0.0.1", port))
        except Exception as error:  # closed below with the others; the first is raised
            return error
        return None

    try:
        # opened on all hosts at once (a host not connected yet costs a connection's round trips),
        # through the one fan-out, so that Ctrl-C here ends as everywhere else
        errors = [e for e in fan_out(hosts, open_on, workers=16, cancel=threading.Event(), name="kamal-nb-fwd") if e]
        if errors:
            raise errors[0]
        yield opened
    finally:
        for forward in list(opened.values()):  # a worker still opening after Ctrl-C may add one
            forward.close()
