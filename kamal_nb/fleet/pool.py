"""One SSH connection per host, opened on first use and kept warm across operations and cells."""

from __future__ import annotations

import io
import logging
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamal_nb.fleet.hostkeys import HostKeyError, changed_key_message, load_known_hosts, make_policy
from kamal_nb.fleet.liveness import Liveness
from kamal_nb.fleet.settings import SshSettings

if TYPE_CHECKING:
    from fabric import Connection

    from kamal_nb.fleet.forward import RemoteForward


# paramiko's transport thread logs what ended a connection, a traceback included, and with no
# handler configured Python prints it on stderr (in a cell, under the result). The pool says why in
# one line (HostUnreachable); a user who configures logging still gets paramiko's records.
logging.getLogger("paramiko").addHandler(logging.NullHandler())


class HostUnreachable(Exception):
    """The host could not be connected to; the message says why, in a line, naming the host."""


class ConnectionPool:
    """Connections by host. Thread-safe: a host's connection is created once, even under races.

    A connection whose transport died (host rebooted, idle timeout, network blip) is replaced
    transparently the next time it is asked for.
    """

    def __init__(self, settings: SshSettings) -> None:
        self.settings = settings
        self._connections: dict[str, Connection] = {}
        self._host_locks: dict[str, threading.Lock] = {}
        self._lock = threading.Lock()
        self._ssh_config: Any = None
        self.opened = 0  # connections opened so far: reconnects count too
        self._lost: dict[str, str] = {}  # host -> why the liveness rule gave it up (until it reconnects)
        self.liveness = Liveness(settings.keepalive_interval, settings.keepalive_count_max, self._declare_lost)

    def _host_lock(self, host: str) -> threading.Lock:
        with self._lock:
            return self._host_locks.setdefault(host, threading.Lock())

    def get(self, host: str) -> Connection:
        """An open connection to ``host``; raises HostUnreachable or HostKeyError."""
        with self._host_lock(host):
            conn = self._connections.get(host)
            if conn is not None and conn.is_connected:
                return conn
            if conn is not None:
                conn.close()
            conn = self._open(host)
            self._connections[host] = conn
            return conn

    def forward_remote(self, host: str, port: int, target: tuple[str, int]) -> RemoteForward:
        """``ssh -R 127.0.0.1:PORT:TARGET`` on ``host``'s warm connection; close it when done."""
        from kamal_nb.fleet.forward import RemoteForward

        transport = self.get(host).transport
        return RemoteForward(transport, port, target).open()

    def lost(self, host: str) -> str | None:
        """Why ``host`` was declared lost by the liveness rule (None: it was not, or it came back)."""
        with self._lock:
            return self._lost.get(host)

    def _declare_lost(self, host: str, transport: Any, why: str) -> None:
        with self._lock:
            self._lost[host] = f"{host}: {why}"
        # closing ends every wait on it (output, exit status, a channel being opened); paramiko
        # joins its thread when closing: not in the liveness thread
        threading.Thread(target=transport.close, name="kamal-nb-lost", daemon=True).start()

    def discard(self, host: str) -> None:
        """Drop ``host``'s connection (after a timeout its channel state is unknown)."""
        with self._host_lock(host):
            conn = self._connections.pop(host, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        self.liveness.close()
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            conn.close()

    def __enter__(self) -> ConnectionPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- opening -----------------------------------------------------------------------------------

    def _fabric_ssh_config(self) -> Any:
        if self._ssh_config is None:
            from paramiko import SSHConfig

            config = SSHConfig()
            for path in self.settings.default_config_files():
                if Path(path).is_file():
                    with open(path) as handle:
                        config.parse(handle)
            self._ssh_config = config
        return self._ssh_config

    def _connection(self, host: str) -> Connection:
        from fabric import Config, Connection
        from fabric.runners import Remote

        from kamal_nb.fleet.unbuffered import unbuffered

        settings = self.settings
        config = Config(
            ssh_config=self._fabric_ssh_config(),
            overrides={
                "run": {"in_stream": False, "warn": True},
                "forward_agent": settings.forward_agent,
                # output is kept (bounded) by the runner's streams, not buffered whole by invoke
                "runners": {"remote": unbuffered(Remote)},
            },
        )
        connect_kwargs: dict[str, Any] = {
            "banner_timeout": settings.connect_timeout,
            "auth_timeout": settings.connect_timeout,
        }
        if settings.keys:
            connect_kwargs["key_filename"] = [str(Path(k).expanduser()) for k in settings.keys]
        if settings.key_data:
            connect_kwargs["pkey"] = _load_private_key(settings.key_data[0].reveal())
        if settings.keys_only:
            connect_kwargs["look_for_keys"] = False
            connect_kwargs["allow_agent"] = False
        gateway: Any = None
        if settings.proxy_command:
            gateway = _expand_proxy_command(settings.proxy_command, host, settings.port, settings.user)
        elif settings.proxy_jump:
            jump_user, _, jump_host = settings.proxy_jump.rpartition("@")
            gateway = Connection(
                jump_host,
                user=jump_user or "root",
                config=config,
                connect_timeout=settings.connect_timeout,
                connect_kwargs=dict(connect_kwargs),
            )
        # user/port given explicitly win over ssh config, as Kamal passes them to net-ssh
        return Connection(
            host,
            user=settings.user,
            port=settings.port,
            config=config,
            gateway=gateway,
            connect_timeout=settings.connect_timeout,
            connect_kwargs=connect_kwargs,
        )

    def _known_hosts(self, conn: Connection) -> Path:
        if self.settings.known_hosts:
            return Path(self.settings.known_hosts).expanduser()
        configured = conn.ssh_config.get("userknownhostsfile")
        if configured:
            return Path(str(configured).split()[0]).expanduser()
        return Path("~/.ssh/known_hosts").expanduser()

    def _policy(self, conn: Connection) -> str:
        if self.settings.host_key_policy:
            return self.settings.host_key_policy
        # net-ssh follows StrictHostKeyChecking from ssh config; its own default is accept-new
        configured = str(conn.ssh_config.get("stricthostkeychecking", "accept-new")).lower()
        return {"yes": "strict", "no": "off", "off": "off"}.get(configured, "accept_new")

    def _open(self, host: str) -> Connection:
        import paramiko

        conn = self._connection(host)
        known_hosts = self._known_hosts(conn)
        policy = self._policy(conn)
        if policy != "off":
            load_known_hosts(conn.client, known_hosts)
        conn.client.set_missing_host_key_policy(make_policy(policy, known_hosts))
        where = f"{conn.user}@{host}" + (f":{conn.port}" if conn.port != 22 else "")
        try:
            if conn.gateway is None:
                conn.connect_kwargs["sock"] = _dial(conn.host, conn.port, self.settings.connect_timeout)
            conn.open()
        except paramiko.BadHostKeyException as error:
            _abandon(conn)
            raise HostKeyError(changed_key_message(host, error, known_hosts)) from None
        except HostKeyError:
            _abandon(conn)
            raise
        except paramiko.AuthenticationException as error:
            _abandon(conn)
            raise HostUnreachable(f"{where}: authentication failed ({error})") from None
        except TimeoutError:
            _abandon(conn)
            raise HostUnreachable(f"{where}: connection timed out after {self.settings.connect_timeout:g}s") from None
        except (OSError, paramiko.SSHException, EOFError) as error:
            _abandon(conn)
            raise HostUnreachable(f"{where}: {_describe(error)}") from None
        assert conn.transport is not None
        interval, count_max = _server_alive(conn)
        self.liveness.watch(host, conn.transport, interval=interval, count_max=count_max)
        with self._lock:
            self._lost.pop(host, None)
        # Opening a channel is one round trip: a host that stops answering must not hold a command
        # for paramiko's default hour before the command timeout can even start counting.
        conn.transport.channel_timeout = self.settings.connect_timeout
        self.opened += 1
        return conn


def _abandon(conn: Connection) -> None:
    """Close a connection that failed to open, with the socket dialled for it."""
    conn.close()
    sock = conn.connect_kwargs.get("sock")
    if isinstance(sock, socket.socket):
        sock.close()


def _dial(host: str, port: int, timeout: float) -> socket.socket:
    """A TCP connection to the host's SSH port with Nagle's algorithm off. SSH sends many small
    packets that wait on each other (key exchange, auth, each channel open and exec request); with
    Nagle on, the second of two small writes waits for the host's delayed ACK (40 ms on Linux), and
    paramiko leaves it on. Measured on the test fleet (benchmarks/startup.py): `kamal-nb details` on 3 hosts
    0.45 s -> 0.40-0.43 s."""
    sock = socket.create_connection((host, port), timeout=timeout)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _server_alive(conn: Connection) -> tuple[float | None, int | None]:
    """The host's ServerAliveInterval and ServerAliveCountMax from the ssh config files, when set
    (net-ssh reads the count from there under Kamal too; a 0 interval means "not set")."""

    def number(key: str) -> float | None:
        try:
            value = float(str(conn.ssh_config.get(key, "")).split()[0])
        except (ValueError, IndexError):
            return None
        return value if value > 0 else None

    count = number("serveralivecountmax")
    return number("serveraliveinterval"), int(count) if count else None


def _expand_proxy_command(command: str, host: str, port: int, user: str) -> str:
    """ProxyCommand's tokens, as net-ssh and OpenSSH expand them (paramiko leaves them alone)."""
    tokens = {"h": host, "p": str(port), "r": user, "%": "%"}
    out, i = [], 0
    while i < len(command):
        if command[i] == "%" and i + 1 < len(command) and command[i + 1] in tokens:
            out.append(tokens[command[i + 1]])
            i += 2
        else:
            out.append(command[i])
            i += 1
    return "".join(out)


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    if isinstance(error, ConnectionRefusedError) or "Unable to connect" in text:
        return f"connection refused ({text})"
    if "protocol banner" in text or text == "No existing session":
        # paramiko's words for a port that takes the connection and never speaks SSH (timed out)
        return f"no SSH answer: the port accepts connections but timed out before any SSH server spoke ({text})"
    return text


def _load_private_key(pem: str) -> Any:
    import paramiko

    for key_class in (paramiko.Ed25519Key, paramiko.ECDSAKey, paramiko.RSAKey):
        try:
            return key_class.from_private_key(io.StringIO(pem))
        except paramiko.SSHException:
            continue
    raise HostUnreachable("ssh key_data: not a private key paramiko can read (Ed25519, ECDSA or RSA PEM)")
