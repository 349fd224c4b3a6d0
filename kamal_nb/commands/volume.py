"""A host path mounted into a container (``Kamal::Configuration::Volume``): relative host paths are
anchored at ``$PWD``, the SSH user's home, where Kamal keeps everything."""

from __future__ import annotations

from dataclasses import dataclass

from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.command import Token


@dataclass(frozen=True)
class Volume:
    host_path: str
    container_path: str
    options: str | None = None

    @property
    def docker_args_string(self) -> str:
        host = self.host_path if self.host_path.startswith("/") else f"$PWD/{self.host_path}"
        text = f"{host}:{self.container_path}"
        return f"{text}:{self.options}" if self.options else text

    def docker_args(self) -> list[Token]:
        return argumentize("--volume", self.docker_args_string)
