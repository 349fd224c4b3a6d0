"""How to reach hosts over SSH: the transport's own settings, free of Kamal's vocabulary.

ops/ maps deploy.yml's ``ssh:`` and ``sshkit:`` sections onto this.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kamal_nb.redaction import Secret

# accept_new: record an unknown host's key and refuse a changed one (net-ssh's default, so Kamal's);
# strict: refuse unknown keys too; off: accept any key and record nothing.
HostKeyPolicy = Literal["accept_new", "strict", "off"]


@dataclass(frozen=True)
class SshSettings:
    user: str = "root"
    port: int = 22
    keys: tuple[str, ...] = ()  # private key files
    key_data: tuple[Secret, ...] = ()  # private keys given inline (PEM text)
    keys_only: bool = False  # use only the keys above: no agent, no ~/.ssh/id_* discovery
    proxy_jump: str | None = None  # [user@]host[:port]
    proxy_command: str | None = None
    # True: the default OpenSSH client files; False: none; or these files, in order
    config_files: bool | tuple[str, ...] = True
    forward_agent: bool = False
    host_key_policy: HostKeyPolicy | None = None  # None: from ssh config, else accept_new
    known_hosts: str | None = None  # None: from ssh config, else ~/.ssh/known_hosts
    connect_timeout: float = 30.0
    command_timeout: float | None = None  # None: commands may run as long as they need
    # the liveness rule (OpenSSH's ServerAliveInterval/ServerAliveCountMax): a host silent for
    # keepalive_interval x keepalive_count_max seconds, asked every keepalive_interval, is lost
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3
    max_parallel: int = 30  # hosts worked on at once (SSHKit's max_concurrent_starts)

    def default_config_files(self) -> tuple[str, ...]:
        if self.config_files is False:
            return ()
        if self.config_files is True:
            return tuple(str(p) for p in (Path("~/.ssh/config").expanduser(), Path("/etc/ssh/ssh_config")))
        return tuple(str(Path(p).expanduser()) for p in self.config_files)
