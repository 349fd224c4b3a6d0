"""Kamal's local registry (``registry.server: localhost:PORT``), seen from the hosts.

The registry runs as the ``kamal-docker-registry`` container on this machine's engine, published on
``127.0.0.1:PORT``. A host reaches it through SSH remote port forwarding of PORT on kamal_nb's own
connection to that host, opened for the pulls (or a remote build's push) and closed right after:
the host's engine pulls ``localhost:PORT/IMAGE`` from its own loopback, where its sshd listens.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Protocol

from kamal_nb.fleet.forward import RemoteForward


class Forwarding(Protocol):
    """What is needed of a pool: kamal_nb.fleet.pool.ConnectionPool."""

    def forward_remote(self, host: str, port: int, target: tuple[str, int]) -> RemoteForward: ...


@contextlib.contextmanager
def registry_forwards(pool: Forwarding, hosts: Sequence[str], port: int) -> Iterator[dict[str, RemoteForward]]:
    """PORT on each host's loopback forwarded to 127.0.0.1:PORT here, while the block runs."""
    opened: dict[str, RemoteForward] = {}
    try:
        # opened on all hosts at once: a host not connected yet costs a connection's round trips
        with ThreadPoolExecutor(max_workers=max(1, min(16, len(hosts))), thread_name_prefix="kamal-nb-fwd") as pool_:
            futures = {host: pool_.submit(pool.forward_remote, host, port, ("127.0.0.1", port)) for host in hosts}
            errors: list[BaseException] = []
            for host, future in futures.items():
                try:
                    opened[host] = future.result()
                except Exception as error:  # closed below with the others; the first is raised
                    errors.append(error)
        if errors:
            raise errors[0]
        yield opened
    finally:
        for forward in opened.values():
            forward.close()
