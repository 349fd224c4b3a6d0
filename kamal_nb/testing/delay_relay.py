"""Network latency on the test fleet's SSH path: a TCP relay that delays every byte, each way.

This machine's kernel has no netem, so latency is added by a relay in a process of its own: every
SSH connection to a fleet host (``HOST:22``) is redirected by an iptables rule in the machine's own
namespace (nat OUTPUT, REDIRECT: the configs, host names and known_hosts stay as they are) to the
relay on 127.0.0.1, which opens the real connection (its packets carry a mark the rule skips) and
hands each chunk on half the round-trip time after it arrived. Order is kept; bandwidth is not
limited. Only the SSH port of the given hosts is redirected: the hosts' own traffic (pulls from
the registry) is not delayed.

    with DelayRelay(["10.209.0.11", "10.209.0.12"], rtt_ms=30, tag="p9") as relay:
        ...                      # both tools' SSH connections now see 30 ms round trips
        relay.cpu_seconds()      # the relay's own CPU so far (it shares the cores with the tools)

``python -m kamal_nb.testing.delay_relay --rtt-ms 30 --mark 0x6b6e 127.0.0.1:30011=10.209.0.11:22 ...``
is the relay process itself; it prints ``ready`` when it listens.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from types import TracebackType

from kamal_nb.testing.machine import run, stop_pids

MARK = 0x6B6E  # the relay's own connections to the hosts: the redirect rule skips them
READ_SIZE = 65536


# -- the relay process ------------------------------------------------------------------------------


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay: float) -> None:
    """Copy reader -> writer, each chunk written `delay` seconds after it was read, in order."""
    queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

    async def deliver() -> None:
        while True:
            due, data = await queue.get()
            if not data:
                break
            wait = due - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()

    delivering = asyncio.create_task(deliver())
    try:
        while True:
            data = await reader.read(READ_SIZE)
            queue.put_nowait((time.monotonic() + delay, data))
            if not data:
                break
        await delivering
    except (ConnectionError, OSError):
        delivering.cancel()


def _nodelay(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


async def _serve(listen: tuple[str, int], target: tuple[str, int], delay: float, mark: int) -> asyncio.Server:
    async def connected(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        upstream = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        upstream.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, mark)
        upstream.setblocking(False)
        try:
            await asyncio.get_running_loop().sock_connect(upstream, target)
            host_reader, host_writer = await asyncio.open_connection(sock=upstream)
        except OSError:
            upstream.close()
            client_writer.close()
            return
        _nodelay(client_writer)
        _nodelay(host_writer)
        try:
            await asyncio.gather(
                _pump(client_reader, host_writer, delay),
                _pump(host_reader, client_writer, delay),
                return_exceptions=True,
            )
        except asyncio.CancelledError:  # the relay is stopping: its connections end with it
            pass
        finally:
            for writer in (client_writer, host_writer):
                writer.close()

    return await asyncio.start_server(connected, *listen, reuse_address=True)


async def _relay(routes: Sequence[tuple[tuple[str, int], tuple[str, int]]], delay: float, mark: int) -> None:
    servers = [await _serve(listen, target, delay, mark) for listen, target in routes]
    print("ready", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    for server in servers:
        server.close()


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host, int(port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kamal_nb.testing.delay_relay", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("--rtt-ms", type=float, required=True, help="round-trip time added (half each way)")
    parser.add_argument("--mark", type=lambda v: int(v, 0), default=MARK, help="SO_MARK of the relay's own connections")
    parser.add_argument("routes", nargs="+", metavar="LISTEN=TARGET", help="127.0.0.1:30011=10.209.0.11:22")
    args = parser.parse_args(argv)
    routes = [(_address(listen), _address(target)) for listen, _, target in (r.partition("=") for r in args.routes)]
    asyncio.run(_relay(routes, args.rtt_ms / 2000, args.mark))
    return 0


# -- driving it from a benchmark ------------------------------------------------------------------


class DelayRelay:
    """The relay process and the redirect rules for `hosts`' SSH port; a context manager.

    ``rtt_ms`` 0 starts nothing: the connections go straight to the hosts, as without it.
    """

    def __init__(
        self, hosts: Sequence[str], *, rtt_ms: float, tag: str, port: int = 22, first_local_port: int = 30000
    ) -> None:
        self.hosts = list(hosts)
        self.rtt_ms = rtt_ms
        self.port = port
        self.comment = f"kamal-nb-delay-{tag}"
        self.local_ports = {host: first_local_port + int(host.rsplit(".", 1)[1]) for host in self.hosts}
        self.process: subprocess.Popen[str] | None = None
        self._rules: list[list[str]] = []

    def __enter__(self) -> DelayRelay:
        if self.rtt_ms > 0:
            self.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> None:
        routes = [f"127.0.0.1:{self.local_ports[h]}={h}:{self.port}" for h in self.hosts]
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "kamal_nb.testing.delay_relay",
                "--rtt-ms",
                str(self.rtt_ms),
                "--mark",
                hex(MARK),
                *routes,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        if self.process.stdout.readline().strip() != "ready":
            self.stop()
            raise RuntimeError("the delay relay did not start")
        for host in self.hosts:
            rule = [
                "OUTPUT", "-p", "tcp", "-d", host, "--dport", str(self.port),
                "-m", "mark", "!", "--mark", hex(MARK),
                "-m", "comment", "--comment", self.comment,
                "-j", "REDIRECT", "--to-ports", str(self.local_ports[host]),
            ]  # fmt: skip
            run("iptables", "-t", "nat", "-A", *rule)
            self._rules.append(rule)

    def stop(self) -> None:
        for rule in self._rules:
            run("iptables", "-t", "nat", "-D", *rule, check=False, quiet=True)
        self._rules = []
        if self.process is not None:
            stop_pids([self.process.pid], timeout=5)
            self.process.wait(timeout=5)
            self.process = None

    def cpu_seconds(self) -> float:
        """The relay process's CPU (user + system) so far; 0 when no relay runs."""
        if self.process is None:
            return 0.0
        with open(f"/proc/{self.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


if __name__ == "__main__":
    sys.exit(main())
