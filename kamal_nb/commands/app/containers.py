"""Listing, renaming and removing an app's containers (``Kamal::Commands::App::Containers``)."""

from __future__ import annotations

from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.command import Command, cmd, docker, pipe, xargs

DOCKER_HEALTH_LOG_FORMAT = "'{{json .State.Health}}'"


class Containers(AppBase):
    def list_containers(self) -> Command:
        return docker("container", "ls", "--all", self._container_filter_args())

    def list_container_names(self) -> Command:
        return cmd(self.list_containers(), "--format", "'{{ .Names }}'")

    def list_container_ids(self) -> Command:
        """kamal_nb's own read (not Kamal's): each running container's short id and name, to tell
        which one kamal-proxy's target (``<container id>:<port>``) is."""
        return docker("ps", self._container_filter_args(), "--format", "'{{.ID}} {{.Names}}'")

    def remove_container(self, *, version: str) -> Command:
        return pipe(
            self.container_id_for(container_name=self.container_name(version)), xargs(docker("container", "rm"))
        )

    def rename_container(self, *, version: str, new_version: str) -> Command:
        return docker("rename", self.container_name(version), self.container_name(new_version))

    def remove_containers(self) -> Command:
        return docker("container", "prune", "--force", self._container_filter_args())

    def container_health_log(self, *, version: str) -> Command:
        return pipe(
            self.container_id_for(container_name=self.container_name(version)),
            xargs(docker("inspect", "--format", DOCKER_HEALTH_LOG_FORMAT)),
        )
