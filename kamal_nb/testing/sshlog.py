"""SSH activity on the test fleet's hosts, counted from their sshd logs (LogLevel VERBOSE).

counter = SshCounter(fleet_info)      # marks where each host's log ends now
...                                   # do something over SSH
counter.counts()                      # {"10.200.0.11": SshActivity(connections=1, commands=2, sftp=0)}
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kamal_nb.testing.fleet import FleetInfo


@dataclass(frozen=True)
class SshActivity:
    connections: int  # SSH handshakes (each costs several round trips)
    commands: int  # exec sessions: one round trip each at least
    sftp: int  # SFTP sessions (uploads)

    @property
    def sessions(self) -> int:
        return self.commands + self.sftp


def _log(info: FleetInfo, host_name: str) -> Path:
    return Path(info.base) / "nodes" / host_name / "sshd.log"


class SshCounter:
    def __init__(self, info: FleetInfo) -> None:
        self.info = info
        self.offsets = {h.ip: self._size(h.name) for h in info.hosts}

    def _size(self, name: str) -> int:
        path = _log(self.info, name)
        return path.stat().st_size if path.exists() else 0

    def counts(self) -> dict[str, SshActivity]:
        activity = {}
        for host in self.info.hosts:
            with _log(self.info, host.name).open("rb") as log:
                log.seek(self.offsets[host.ip])
                text = log.read().decode(errors="replace")
            activity[host.ip] = SshActivity(
                connections=text.count("Accepted publickey for "),
                commands=text.count("Starting session: command "),
                sftp=text.count("Starting session: subsystem 'sftp'"),
            )
        return activity
