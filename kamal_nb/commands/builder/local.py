"""Building on the local Docker engine with a buildx builder (``Kamal::Commands::Builder::Local``)."""

from __future__ import annotations

from kamal_nb.commands.builder.base import BuilderBase
from kamal_nb.commands.command import Command, docker


class Local(BuilderBase):
    def create(self) -> Command | None:
        if self.docker_driver:
            return None
        return docker(
            "buildx", "create", "--name", self.builder_name(), f"--driver={self.driver}", self._driver_options()
        )

    def remove(self) -> Command | None:
        return None if self.docker_driver else docker("buildx", "rm", self.builder_name())

    def builder_name(self) -> str:
        registry = "registry-" if self.config.registry.local else ""
        return f"kamal-local-{registry}{self.driver}"
