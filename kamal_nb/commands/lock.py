"""The deploy lock: a directory on the primary host with a base64 ``details`` file
(``Kamal::Commands::Lock``)."""

from __future__ import annotations

from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, cmd, combine, pipe, write
from kamal_nb.commands.quoting import encode64

UNKNOWN_LOCKER = "Unknown"  # Kamal's name when git cannot tell who is locking
AUTOMATIC_MESSAGE = "Automatic deploy lock"


class Lock(Base):
    def acquire(self, message: str, version: str, *, locked_by: str, locked_at: str) -> Command:
        """``locked_by`` is ``git config user.name`` (or ``Unknown``), ``locked_at`` the UTC ISO 8601
        time: Kamal reads both when locking, the caller does here."""
        details = lock_details(message, version, locked_by=locked_by, locked_at=locked_at)
        return combine(
            cmd("mkdir", self.lock_dir),
            write(cmd("echo", f'"{encode64(details.encode("utf-8"))}"'), self.lock_details_file),
        )

    def release(self) -> Command:
        return combine(cmd("rm", self.lock_details_file), cmd("rm", "-r", self.lock_dir))

    def status(self) -> Command:
        return combine(
            write(cmd("stat", self.lock_dir), "/dev/null"),
            pipe(cmd("cat", self.lock_details_file), cmd("base64", "-d")),
        )

    def directory_age(self) -> Command:
        """kamal_nb's own read (not Kamal's): the host's time and the lock directory's, in seconds
        since the epoch (one a line), to tell the age of a lock whose details cannot be read."""
        return combine(cmd("date", "+%s"), cmd("stat", "-c", "%Y", self.lock_dir))

    def ensure_locks_directory(self) -> Command:
        # Kamal 2.12 still has this method, but the `locks_dir` it uses no longer exists (a 1.x
        # leftover), so calling it raises NameError there: refuse too rather than invent a path.
        raise NotImplementedError("Lock#ensure_locks_directory is broken in Kamal 2.12 (undefined locks_dir)")

    @property
    def lock_dir(self) -> str:
        name = "-".join(p for p in ("lock", self.config.service, self.config.destination) if p is not None)
        return f"{self.config.run_directory}/{name}"

    @property
    def lock_details_file(self) -> str:
        return f"{self.lock_dir}/details"


def lock_details(message: str, version: str, *, locked_by: str, locked_at: str) -> str:
    return f"Locked by: {locked_by} at {locked_at}\nVersion: {version}\nMessage: {message}".strip()
