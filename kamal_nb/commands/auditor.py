"""The audit log line appended on a host before a change (``Kamal::Commands::Auditor``)."""

from __future__ import annotations

from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, append, cmd, combine
from kamal_nb.commands.quoting import escape_shell_value
from kamal_nb.commands.tags import Tags
from kamal_nb.config import Config


class Auditor(Base):
    """``Auditor(config, recorded_at=iso8601(now), performer=email, role=role).record("Booted app version 1")``.

    ``recorded_at`` and ``performer`` are Kamal's ``Time.now.utc.iso8601`` and ``git config
    user.email`` (or ``whoami``): the caller supplies them.
    """

    def __init__(self, config: Config, *, recorded_at: str, performer: str, **details: object) -> None:
        super().__init__(config)
        self.recorded_at = recorded_at
        self.performer = performer
        self.details = details

    def record(self, line: str, **details: object) -> Command:
        return combine(
            cmd("mkdir", "-p", self.config.run_directory),
            append(cmd("echo", escape_shell_value(self.audit_line(line, **details))), self.audit_log_file),
        )

    def reveal(self) -> Command:
        return cmd("tail", "-n", "50", self.audit_log_file)

    @property
    def audit_log_file(self) -> str:
        name = "-".join(p for p in (self.config.service, self.config.destination, "audit.log") if p is not None)
        return f"{self.config.run_directory}/{name}"

    def audit_line(self, line: str, **details: object) -> str:
        # Kamal drops version, service_version and service from the line; the version is never
        # resolved for it here (resolving may need git).
        tags = Tags(
            {
                "recorded_at": self.recorded_at,
                "performer": self.performer,
                "destination": self.config.destination,
                **self.details,
                **details,
            }
        ).except_("version", "service_version", "service")
        return f"{tags} {line}"
