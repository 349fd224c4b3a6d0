"""Pruning old containers and images of the service on a host (``Kamal::Commands::Prune``).

The filters use only the ``service`` label, so destinations sharing a host share the retention.
"""

from __future__ import annotations

from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, cmd, docker, pipe


class Prune(Base):
    def dangling_images(self) -> Command:
        return docker("image", "prune", "--force", "--filter", f"label=service={self.config.service}")

    def tagged_images(self) -> Command:
        return pipe(
            docker("image", "ls", self._service_filter(), "--format", "'{{.ID}} {{.Repository}}:{{.Tag}}'"),
            cmd("grep", f'-v -w "{self._active_image_list()}"'),
            "while read image tag; do docker rmi $tag; done",
        )

    def app_containers(self, *, retain: int) -> Command:
        """Stopped containers beyond the newest ``retain``."""
        return pipe(
            docker(
                "ps",
                "-q",
                "-a",
                self._service_filter(),
                [token for status in ("created", "exited", "dead") for token in ("--filter", f"status={status}")],
            ),
            f"tail -n +{retain + 1}",
            "while read container_id; do docker rm $container_id; done",
        )

    def _active_image_list(self) -> str:
        # Images of any container, plus repo:latest, plus repo:<none> (dangling images still in use;
        # unused dangling ones go with dangling_images).
        return (
            f"$(docker container ls -a --format '{{{{.Image}}}}\\|' --filter label=service={self.config.service}"
            f" | tr -d '\\n'){self.config.latest_image}\\|{self.config.repository}:<none>"
        )

    def _service_filter(self) -> list[str]:
        return ["--filter", f"label=service={self.config.service}"]
