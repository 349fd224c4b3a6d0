"""Docker Build Cloud (``driver: cloud org/builder``) (``Kamal::Commands::Builder::Cloud``)."""

from __future__ import annotations

import re

from kamal_nb.commands.builder.base import BuilderBase
from kamal_nb.commands.command import Command, docker


class Cloud(BuilderBase):
    def create(self) -> Command:
        return docker("buildx", "create", "--driver", self.driver)

    def remove(self) -> Command:
        return docker("buildx", "rm", self.builder_name())

    def builder_name(self) -> str:
        return re.sub(r"[ /]", "-", self.driver)
