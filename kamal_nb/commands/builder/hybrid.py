"""Local arches built locally, the others on the remote, in one buildx builder
(``Kamal::Commands::Builder::Hybrid``)."""

from __future__ import annotations

from kamal_nb.commands.builder.remote import Remote
from kamal_nb.commands.command import Command, combine, docker


class Hybrid(Remote):
    def create(self) -> Command:
        return combine(self._create_local_buildx(), self._create_remote_context(), self._append_remote_buildx())

    def builder_name(self) -> str:
        return f"kamal-hybrid-{self.driver}-{self._remote_builder_name_suffix()}"

    def _create_local_buildx(self) -> Command:
        return docker(
            "buildx",
            "create",
            self._platform_options(self.local_arches),
            "--name",
            self.builder_name(),
            f"--driver={self.driver}",
            self._driver_options(),
        )

    def _append_remote_buildx(self) -> Command:
        return docker(
            "buildx",
            "create",
            self._platform_options(self.remote_arches),
            "--append",
            "--name",
            self.builder_name(),
            self._driver_options(),
            self.remote_context_name(),
        )
