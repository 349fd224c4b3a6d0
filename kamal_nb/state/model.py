"""What one probe found on one host, parsed: plain values, no pandas."""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Container:
    """A container as ``docker container inspect`` describes it (the fields the tables use)."""

    id: str
    name: str
    image: str  # the image reference it was started from (Config.Image)
    image_id: str  # sha256:...
    labels: Mapping[str, str]
    created: datetime.datetime | None
    state: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int | None
    started_at: datetime.datetime | None
    finished_at: datetime.datetime | None
    health: str | None  # healthy, starting, unhealthy; None without a health check
    restart_count: int | None
    error: str = ""  # State.Error

    @property
    def active(self) -> bool:
        """Running or restarting: what Kamal counts as a live container."""
        return self.state in ("running", "restarting")


@dataclass(frozen=True)
class Image:
    """A row of ``docker image ls`` for the app's repository."""

    id: str  # sha256:...
    repository: str
    tag: str  # "<none>" for an untagged image
    created: datetime.datetime | None
    size: str  # as docker prints it: "1.98MB"


@dataclass(frozen=True)
class Lock:
    """The deploy lock directory found on a host, and its details file decoded."""

    directory_time: datetime.datetime | None  # the directory's mtime: when it was made
    details: str | None  # decoded; None when missing or not base64
    locked_by: str | None = None
    locked_at: datetime.datetime | None = None
    version: str | None = None
    message: str | None = None

    @property
    def readable(self) -> bool:
        return self.locked_by is not None

    @property
    def time(self) -> datetime.datetime | None:
        """When the lock was taken: from the details, else the directory's time."""
        return self.locked_at or self.directory_time


@dataclass(frozen=True)
class AuditEntry:
    """One line of ``.kamal/<service>[-<destination>]-audit.log``."""

    line: str
    recorded_at: datetime.datetime | None = None
    performer: str | None = None
    tags: tuple[str, ...] = ()  # the bracketed tags after the performer: [destination] [role]...
    message: str | None = None

    @property
    def parsed(self) -> bool:
        return self.message is not None


@dataclass(frozen=True)
class HostSnapshot:
    """Everything one probe told about one host; ``error`` says why the host could not be probed."""

    host: str
    error: str | None = None
    docker_version: str | None = None
    containers: tuple[Container, ...] = ()
    images: tuple[Image, ...] = ()
    lock: Lock | None = None
    audit: tuple[AuditEntry, ...] = ()
    problems: tuple[str, ...] = field(default=())  # parts of the probe that failed on a reachable host

    @property
    def reachable(self) -> bool:
        return self.error is None
