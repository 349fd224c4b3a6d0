"""The benchmarks' delay relay: every byte arrives half the round-trip time later, each way, in
order (a local echo server stands in for a host's sshd; no iptables here)."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest


@pytest.fixture
def echo_port() -> Iterator[int]:
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve() -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(65536):
                    conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    yield port
    server.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def test_the_relay_adds_the_round_trip_time_and_keeps_order(echo_port: int) -> None:
    listen = free_port()
    relay = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kamal_nb.testing.delay_relay",
            "--rtt-ms",
            "200",
            f"127.0.0.1:{listen}=127.0.0.1:{echo_port}",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert relay.stdout is not None and relay.stdout.readline().strip() == "ready"
        with socket.create_connection(("127.0.0.1", listen), timeout=5) as conn:
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            trips = []
            for i in range(3):
                started = time.monotonic()
                conn.sendall(f"ping {i}\n".encode())
                received = b""
                while not received.endswith(b"\n"):
                    received += conn.recv(100)
                trips.append(time.monotonic() - started)
                assert received == f"ping {i}\n".encode()
            # one chunk then another sent at once: both arrive, in order, one round trip later
            started = time.monotonic()
            conn.sendall(b"a" * 1000)
            conn.sendall(b"b" * 1000)
            received = b""
            while len(received) < 2000:
                received += conn.recv(4096)
            burst = time.monotonic() - started
        assert received == b"a" * 1000 + b"b" * 1000
        assert all(0.19 <= t < 1.0 for t in trips), trips
        assert 0.19 <= burst < 1.0, burst  # not one delay per chunk
    finally:
        relay.terminate()
        relay.wait(timeout=10)
    assert relay.returncode == 0  # it stops cleanly on SIGTERM
