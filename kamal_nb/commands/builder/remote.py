"""Building on a remote Docker engine over ssh, through a docker context
(``Kamal::Commands::Builder::Remote``)."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kamal_nb.commands.builder.base import ENDPOINT_DOCKER_HOST_INSPECT, BuilderBase
from kamal_nb.commands.command import Command, any_of, chain, cmd, combine, docker, pipe


class Remote(BuilderBase):
    def create(self) -> Command:
        return chain(self._create_remote_context(), self._create_buildx())

    def remove(self) -> Command:
        return chain(docker("context", "rm", self.remote_context_name()), docker("buildx", "rm", self.builder_name()))

    def info(self) -> Command:
        return chain(docker("context", "ls"), docker("buildx", "ls"))

    def inspect_builder(self) -> Command:
        """The builder must exist and point at the configured remote, else ``no compatible builder``."""
        return any_of(
            combine(self._inspect_buildx(), self._inspect_remote_context()),
            cmd("(echo no compatible builder && exit 1)"),
        )

    def login_to_registry_locally(self) -> bool:
        return False

    def push_env(self) -> Mapping[str, str]:
        return {"BUILDKIT_NO_CLIENT_TOKEN": "1"}

    def builder_name(self) -> str:
        return f"kamal-remote-{self._remote_builder_name_suffix()}"

    def remote_context_name(self) -> str:
        return f"{self.builder_name()}-context"

    def _remote_url(self) -> str:
        if self.remote is None:
            raise ValueError("no builder.remote configured")
        return self.remote

    def _remote_builder_name_suffix(self) -> str:
        local_registry = "-local-registry" if self.config.registry.local else ""
        return re.sub(r"[^a-z0-9_-]", "-", self._remote_url()) + local_registry

    def _inspect_buildx(self) -> Command:
        return pipe(
            docker("buildx", "inspect", self.builder_name()),
            cmd("grep", "-q", f"Endpoint:.*{self.remote_context_name()}"),
        )

    def _inspect_remote_context(self) -> Command:
        return pipe(
            docker("context", "inspect", self.remote_context_name(), "--format", ENDPOINT_DOCKER_HOST_INSPECT),
            cmd("grep", "-xq", self._remote_url()),
        )

    def _create_remote_context(self) -> Command:
        return docker(
            "context",
            "create",
            self.remote_context_name(),
            "--description",
            f"'{self.builder_name()} host'",
            "--docker",
            f"'host={self._remote_url()}'",
        )

    def _create_buildx(self) -> Command:
        return docker(
            "buildx", "create", "--name", self.builder_name(), self._driver_options(), self.remote_context_name()
        )
