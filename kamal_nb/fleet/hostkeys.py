"""Host keys as Kamal (net-ssh) treats them: a new key is recorded, a changed key is refused."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import paramiko

_write_lock = threading.Lock()


class HostKeyError(Exception):
    """A host's key is not the one on record, or is unknown where unknown keys are refused."""


def known_host_name(host: str, port: int) -> str:
    return host if port == 22 else f"[{host}]:{port}"


def load_known_hosts(client: paramiko.SSHClient, path: Path) -> None:
    """Load ``path`` (if present) into ``client``, so paramiko compares the keys it holds."""
    if path.exists():
        client.get_host_keys().load(str(path))


def make_policy(policy: str, known_hosts: Path) -> paramiko.MissingHostKeyPolicy:
    import paramiko

    class AcceptNew(paramiko.MissingHostKeyPolicy):
        """Record the key of a host seen for the first time, as `StrictHostKeyChecking accept-new`."""

        def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
            line = f"{hostname} {key.get_name()} {base64.b64encode(key.asbytes()).decode()}\n"
            with _write_lock:
                known_hosts.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
                with known_hosts.open("a") as out:
                    out.write(line)
            client.get_host_keys().add(hostname, key.get_name(), key)

    class Strict(paramiko.MissingHostKeyPolicy):
        def missing_host_key(self, client: paramiko.SSHClient, hostname: str, key: paramiko.PKey) -> None:
            raise HostKeyError(
                f"host key of {hostname} is unknown and unknown keys are refused (strict host key checking); "
                f"add it to {known_hosts} (its {key.get_name()} fingerprint is {fingerprint(key)})"
            )

    if policy == "strict":
        return Strict()
    if policy == "off":
        return paramiko.WarningPolicy()
    return AcceptNew()


def fingerprint(key: paramiko.PKey) -> str:
    import hashlib

    digest = hashlib.sha256(key.asbytes()).digest()
    return "SHA256:" + base64.b64encode(digest).decode().rstrip("=")


def changed_key_message(host: str, error: paramiko.BadHostKeyException, known_hosts: Path) -> str:
    return (
        f"host key of {host} has CHANGED: it offered {error.key.get_name()} {fingerprint(error.key)}, "
        f"but {known_hosts} records {fingerprint(error.expected_key)}. This may be a machine in the middle, "
        f"or a reinstalled host; if you trust the new key, remove the old line for {host} from {known_hosts}"
    )
