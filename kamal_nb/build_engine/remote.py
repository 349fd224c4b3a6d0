"""A remote Docker engine reached through an SSH connection kamal_nb already has, without buildx.

Each connection to the engine is an SSH channel running ``docker system dial-stdio`` on the remote
host (what the docker CLI does for an ``ssh://`` DOCKER_HOST): its stdin and stdout are a byte
stream to the engine's API socket. ``EngineBridge`` offers those channels as a unix socket in a
private directory of this machine (mode 0700, removed on close), so the Docker SDK and the BuildKit
session (kamal_nb.build_engine.session) use the remote engine exactly as they use a local one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import docker

DIAL = "docker system dial-stdio"
# BuildKit builds (`POST /build?version=2`) with a client session (`POST /session`) need API 1.39
# (Docker 18.09); kamal_nb asks for 1.40 (Docker 19.03), the oldest engine whose BuildKit reads
# `RUN --mount=type=secret` without an experimental Dockerfile syntax.
MIN_API = (1, 40)


class RemoteEngineError(Exception):
    """The remote engine cannot be used (unreachable, no BuildKit, too old); one line, naming it."""


class Channel(Protocol):
    """What the bridge needs of a paramiko Channel."""

    def recv(self, nbytes: int) -> bytes: ...
    def recv_stderr(self, nbytes: int) -> bytes: ...
    def sendall(self, data: bytes) -> None: ...
    def shutdown_write(self) -> None: ...
    def close(self) -> None: ...
    def settimeout(self, timeout: float | None) -> None: ...


@dataclass(frozen=True)
class SshEngine:
    """``builder.remote: ssh://USER@HOST[:PORT]``."""

    user: str
    host: str
    port: int

    @property
    def where(self) -> str:
        return f"{self.user}@{self.host}" + (f":{self.port}" if self.port != 22 else "")


def parse_ssh_url(url: str, default_user: str = "root") -> SshEngine | None:
    """The parts of an ``ssh://`` builder URL; None for another scheme (tcp://, unix://)."""
    parts = urlsplit(url)
    if parts.scheme != "ssh":
        return None
    if not parts.hostname:
        raise RemoteEngineError(f"builder.remote {url}: no host in the ssh:// URL (ssh://USER@HOST[:PORT])")
    try:
        port = parts.port or 22
    except ValueError:
        raise RemoteEngineError(f"builder.remote {url}: the port is not a number") from None
    return SshEngine(parts.username or default_user, parts.hostname, port)


def dial(transport: Any, timeout: float) -> Channel:
    """A channel on ``transport`` (a paramiko Transport) running ``docker system dial-stdio``."""
    channel = transport.open_session(timeout=timeout)
    channel.exec_command(DIAL)
    channel.settimeout(None)
    return channel  # type: ignore[no-any-return]


class EngineBridge:
    """A unix socket whose every connection is a fresh channel from ``open_channel``."""

    def __init__(self, open_channel: Callable[[], Channel], where: str) -> None:
        self.open_channel = open_channel
        self.where = where
        self.directory = tempfile.mkdtemp(prefix="kamal-nb-engine-")  # 0700: only this user connects
        self.path = os.path.join(self.directory, "docker.sock")
        self.errors: list[str] = []  # what dial-stdio said on stderr, for the error message
        self._closed = threading.Event()
        self._open: set[Any] = set()
        self._lock = threading.Lock()
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.path)
        self._listener.listen(16)
        self._listener.settimeout(0.5)
        self._thread = threading.Thread(target=self._accept, name="kamal-nb-engine-bridge", daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"unix://{self.path}"

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                channel = self.open_channel()
            except Exception as error:  # the SSH connection is gone: the client sees its socket close
                self.errors.append(f"cannot open an SSH channel to {self.where}: {error}")
                client.close()
                continue
            with self._lock:
                self._open.update((client, channel))
            threading.Thread(target=self._pump_up, args=(client, channel), daemon=True).start()
            threading.Thread(target=self._pump_down, args=(client, channel), daemon=True).start()

    def _pump_up(self, client: socket.socket, channel: Channel) -> None:
        """This machine → the engine; the client's end of writing is passed on as EOF."""
        with contextlib.suppress(OSError, EOFError):
            while data := client.recv(65536):
                channel.sendall(data)
            channel.shutdown_write()

    def _pump_down(self, client: socket.socket, channel: Channel) -> None:
        """The engine → this machine; when the engine's side ends, both ends are closed."""
        try:
            with contextlib.suppress(OSError, EOFError):
                while data := channel.recv(65536):
                    client.sendall(data)
            with contextlib.suppress(OSError, EOFError, TimeoutError):
                channel.settimeout(0.2)
                said = channel.recv_stderr(4096).decode(errors="replace").strip()
                if said:
                    self.errors.append(said.splitlines()[-1])
        finally:
            self._forget(client, channel)

    def _forget(self, client: socket.socket, channel: Channel) -> None:
        with self._lock:
            self._open.discard(client)
            self._open.discard(channel)
        with contextlib.suppress(OSError):
            client.shutdown(socket.SHUT_RDWR)
        client.close()
        channel.close()

    def close(self) -> None:
        self._closed.set()
        with contextlib.suppress(OSError):  # wakes the accept() waiting on it at once
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            leftovers, self._open = list(self._open), set()
        for end in leftovers:
            with contextlib.suppress(OSError):
                end.close()
        shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> EngineBridge:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _api_version(text: str) -> tuple[int, int]:
    major, _, minor = text.partition(".")
    try:
        return int(major), int(minor or 0)
    except ValueError:
        return (0, 0)


def check_engine(client: docker.DockerClient, where: str, errors: list[str] | None = None) -> dict[str, Any]:
    """The engine's ``/version`` answer; RemoteEngineError when it cannot build with BuildKit here."""
    import docker

    try:
        version: dict[str, Any] = client.version()
    except (docker.errors.DockerException, OSError) as error:
        said = errors[-1] if errors else str(error)  # what the host said is clearer
        raise RemoteEngineError(f"cannot reach the Docker engine of {where}: {said}") from None
    api = str(version.get("ApiVersion") or "0")
    if _api_version(api) < MIN_API:
        need = ".".join(map(str, MIN_API))
        raise RemoteEngineError(
            f"the Docker engine of {where} is too old to build here: API {api} "
            f"(Docker {version.get('Version', '?')}), BuildKit builds need API {need} (Docker 19.03) or newer"
        )
    if str(version.get("Os") or "linux") != "linux":
        raise RemoteEngineError(f"the Docker engine of {where} runs on {version.get('Os')}: it has no BuildKit")
    return version


def engine_arch(version: dict[str, Any]) -> str:
    """The engine's arch in Docker's words (amd64, arm64)."""
    return str(version.get("Arch") or "")
