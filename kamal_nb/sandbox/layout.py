"""Where a sandbox fleet keeps its files, and the JSON stores of host engines and the shared registry.

    DIR/sandbox.json                 hosts, registry server and users (written by `init`)
    DIR/bin/docker                   the shim that runs the docker emulator with this Python
    DIR/hosts/<host>/                a host's home: `.kamal/...` lands here, commands run here
    DIR/hosts/<host>/.sandbox/       the host's docker engine: docker.json (+ a lock), host.json
    DIR/registry/registry.json       the shared registry: name:tag -> image manifest, users
    DIR/local/                       the operator machine's home for local builds (docker buildx)
    DIR/project/                     the demo Kamal project (config/deploy.yml, .kamal/secrets)

Every store is read and written under an exclusive file lock, so concurrent docker commands on one
host (a pipeline, parallel hosts sharing the registry) never lose an update.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SANDBOX_FILE = "sandbox.json"
ENGINE_DIR = ".sandbox"
LOCAL_HOST = "local"  # the operator machine: where local builds run
_HOST_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.:@-]*$")


class SandboxError(Exception):
    """The sandbox is missing, broken or asked for something it does not have; the message says what."""


def check_host_name(host: str) -> str:
    if not _HOST_NAME.match(host) or ".." in host:
        raise SandboxError(f"{host!r} cannot be a sandbox host name (letters, digits and . _ : @ - only)")
    return host


class Layout:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root).expanduser().resolve()

    @property
    def config_file(self) -> Path:
        return self.root / SANDBOX_FILE

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @property
    def hosts_dir(self) -> Path:
        return self.root / "hosts"

    @property
    def registry_dir(self) -> Path:
        return self.root / "registry"

    @property
    def project_dir(self) -> Path:
        return self.root / "project"

    @property
    def local_dir(self) -> Path:
        return self.root / LOCAL_HOST

    def host_dir(self, host: str) -> Path:
        return self.hosts_dir / check_host_name(host)

    def exists(self) -> bool:
        return self.config_file.is_file()

    def config(self) -> dict[str, Any]:
        try:
            data: dict[str, Any] = json.loads(self.config_file.read_text())
        except FileNotFoundError:
            raise SandboxError(
                f"no sandbox fleet at {self.root} (create one: python -m kamal_nb.sandbox init {self.root})"
            ) from None
        return data

    def hosts(self) -> list[str]:
        return [str(h) for h in self.config().get("hosts", [])]


@contextmanager
def locked_json(path: Path, default: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """The JSON object in ``path``, locked for the block and written back (atomically) after it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                data: dict[str, Any] = json.loads(path.read_text())
            except FileNotFoundError:
                data = json.loads(json.dumps(default))
            before = json.dumps(data, sort_keys=True)
            yield data
            if json.dumps(data, sort_keys=True) != before:
                write_json(path, data)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def read_json(path: Path, default: dict[str, Any]) -> dict[str, Any]:
    try:
        data: dict[str, Any] = json.loads(path.read_text())
    except FileNotFoundError:
        return json.loads(json.dumps(default))  # type: ignore[no-any-return]
    return data


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1, sort_keys=True)
        handle.write("\n")
    os.replace(tmp, path)


def engine_file(host_dir: Path) -> Path:
    return host_dir / ENGINE_DIR / "docker.json"


def host_meta_file(host_dir: Path) -> Path:
    return host_dir / ENGINE_DIR / "host.json"


def down_marker(host_dir: Path) -> Path:
    """While this file exists the host is unreachable (a demo of a failing host)."""
    return host_dir / ENGINE_DIR / "down"


def registry_file(root: Path) -> Path:
    return root / "registry" / "registry.json"


EMPTY_ENGINE: dict[str, Any] = {
    "containers": {},
    "images": {},
    "networks": {},
    "volumes": {},
    "builders": {},
    "contexts": {},
    "next_ip": 2,
}
EMPTY_REGISTRY: dict[str, Any] = {"server": "", "users": {}, "images": {}}
