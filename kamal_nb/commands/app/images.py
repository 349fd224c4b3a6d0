"""The app's images on a host (``Kamal::Commands::App::Images``)."""

from __future__ import annotations

from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.command import Command, docker


class Images(AppBase):
    def list_images(self) -> Command:
        return docker("image", "ls", self.config.repository)

    def remove_images(self) -> Command:
        return docker("image", "prune", "--all", "--force", self._image_filter_args())

    def tag_latest_image(self) -> Command:
        return docker("tag", self.absolute_image, self.config.latest_image)
