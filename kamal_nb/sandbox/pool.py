"""A connection pool over sandbox hosts: what FleetRunner needs from fabric, on local directories.

    runner = FleetRunner(settings, events, pool=SandboxPool("/tmp/sandbox"))

``get(host)`` returns a SandboxConnection whose ``run`` executes the command with bash (through
invoke's local runner, as fabric's remote runner would), with the host's directory as working
directory and HOME and the sandbox's ``bin/`` (the docker emulator) first on PATH; its ``sftp()``
writes files under the host's directory. Nothing leaves the machine.
"""

from __future__ import annotations

import errno
import os
import shlex
import threading
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from kamal_nb.fleet.pool import HostUnreachable
from kamal_nb.fleet.settings import SshSettings
from kamal_nb.sandbox.layout import Layout, SandboxError, down_marker, host_meta_file


def host_environment(layout: Layout, host: str, host_dir: Path) -> dict[str, str]:
    """The environment a command on a sandbox host sees (a login shell's, not the kernel's)."""
    path = os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin")
    return {
        "HOME": str(host_dir),
        "PWD": str(host_dir),
        "PATH": f"{layout.bin_dir}:{path}",
        "USER": os.environ.get("USER", "root"),
        "LOGNAME": os.environ.get("LOGNAME", os.environ.get("USER", "root")),
        "SHELL": "/bin/bash",
        "LANG": "C.UTF-8",
        "KAMAL_NB_SANDBOX_DIR": str(layout.root),
        "KAMAL_NB_SANDBOX_HOST": host,
        "KAMAL_NB_SANDBOX_HOST_DIR": str(host_dir),
    }


def local_environment(root: Path | str) -> dict[str, str]:
    """For running the build step's local commands (docker buildx, docker login) in the sandbox:
    the operator machine is the sandbox's ``local/`` directory, with the docker emulator on PATH."""
    layout = Layout(root)
    return host_environment(layout, "local", layout.local_dir)


class SandboxFile:
    """The file object paramiko's SFTPClient.open returns, as far as uploads use it."""

    def __init__(self, handle: IO[bytes], path: Path) -> None:
        self._handle = handle
        self.path = path

    def chmod(self, mode: int) -> None:
        os.fchmod(self._handle.fileno(), mode)

    def write(self, data: bytes | str) -> None:
        self._handle.write(data.encode() if isinstance(data, str) else data)

    def read(self, size: int = -1) -> bytes:
        return self._handle.read(size)

    def close(self) -> None:
        self._handle.close()

    def __enter__(self) -> SandboxFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class SandboxSFTP:
    """Paths are relative to the host's home, as SFTP paths are to the login directory."""

    def __init__(self, host_dir: Path) -> None:
        self.host_dir = host_dir

    def _resolve(self, path: str) -> Path:
        target = (self.host_dir / path).resolve() if not path.startswith("/") else Path(path).resolve()
        if target != self.host_dir and self.host_dir not in target.parents:
            raise PermissionError(errno.EACCES, "Permission denied (outside the sandbox host's directory)", path)
        return target

    def open(self, path: str, mode: str = "r") -> SandboxFile:
        target = self._resolve(path)
        if "w" in mode or "a" in mode:
            flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if "a" in mode else os.O_TRUNC)
            fd = os.open(target, flags, 0o600)
            return SandboxFile(os.fdopen(fd, "ab" if "a" in mode else "wb"), target)
        return SandboxFile(open(target, "rb"), target)

    def stat(self, path: str) -> os.stat_result:
        return self._resolve(path).stat()

    def close(self) -> None:
        pass


class SandboxConnection:
    """One sandbox host, answering fabric Connection's ``run``, ``sftp``, ``is_connected``, ``close``."""

    def __init__(self, layout: Layout, host: str, user: str = "root", host_dir: Path | None = None) -> None:
        self.layout = layout
        self.host = host
        self.user = user
        self.port = 22
        self.host_dir = host_dir or layout.host_dir(host)
        self.env = host_environment(layout, host, self.host_dir)
        self._open = True

    @property
    def is_connected(self) -> bool:
        return self._open

    def run(self, command: str, **kwargs: Any) -> Any:
        """invoke's ``run`` (hide, warn, in_stream, out_stream, err_stream, timeout…), in the host's directory."""
        from invoke.config import Config
        from invoke.context import Context

        if not self._open:
            raise EOFError("sandbox connection closed")
        from invoke.runners import Local

        from kamal_nb.fleet.unbuffered import unbuffered

        # output is kept (bounded) by the runner's streams, not buffered whole by invoke
        context = Context(Config(overrides={"run": {"shell": "/bin/bash"}, "runners": {"local": unbuffered(Local)}}))
        wrapped = f"cd {shlex.quote(str(self.host_dir))} || exit 1\n{command}"
        return context.run(wrapped, env=self.env, replace_env=True, **kwargs)

    def sftp(self) -> SandboxSFTP:
        return SandboxSFTP(self.host_dir)

    def close(self) -> None:
        self._open = False


class SandboxPool:
    """ConnectionPool's interface over a sandbox fleet's hosts (``python -m kamal_nb.sandbox init``)."""

    def __init__(self, root: Path | str, settings: SshSettings | None = None) -> None:
        self.layout = Layout(root)
        self.settings = settings or SshSettings()
        self._connections: dict[str, SandboxConnection] = {}
        self._lock = threading.Lock()
        self.opened = 0

    def get(self, host: str) -> SandboxConnection:
        where = f"{self.settings.user}@{host}"
        try:
            host_dir = self.layout.host_dir(host)
            if not self.layout.exists():
                self.layout.config()  # raises, saying how to create the sandbox
        except SandboxError as error:
            raise HostUnreachable(f"{where}: {error}") from None
        if not host_meta_file(host_dir).is_file():
            raise HostUnreachable(f"{where}: no such host in the sandbox fleet at {self.layout.root}")
        if down_marker(host_dir).exists():
            raise HostUnreachable(f"{where}: connection refused (the sandbox host is down: {down_marker(host_dir)})")
        with self._lock:
            conn = self._connections.get(host)
            if conn is None or not conn.is_connected:
                conn = self._connections[host] = SandboxConnection(self.layout, host, self.settings.user)
                self.opened += 1
            return conn

    def local(self) -> SandboxConnection:
        """The operator machine of the sandbox (for local build commands)."""
        return SandboxConnection(self.layout, "local", host_dir=self.layout.local_dir)

    def discard(self, host: str) -> None:
        with self._lock:
            conn = self._connections.pop(host, None)
        if conn is not None:
            conn.close()

    def close(self) -> None:
        with self._lock:
            connections, self._connections = list(self._connections.values()), {}
        for conn in connections:
            conn.close()

    def __enter__(self) -> SandboxPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
