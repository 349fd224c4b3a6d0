"""Directories Kamal keeps on every host (``Kamal::Commands::Server``)."""

from __future__ import annotations

from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, cmd, pipe


class Server(Base):
    def ensure_run_directory(self) -> Command:
        return self.make_directory(self.config.run_directory)

    def remove_app_directory(self) -> Command:
        return self.remove_directory(self.config.app_directory)

    def app_directory_count(self) -> Command:
        return pipe(cmd("ls", self.config.apps_directory), cmd("wc", "-l"))
