"""Asset bridging (``asset_path``): copy the new image's assets out, and share them between the old
and new versions' volumes so in-flight requests find both (``Kamal::Commands::App::Assets``)."""

from __future__ import annotations

import posixpath

from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.command import Command, chain, cmd, combine, docker
from kamal_nb.commands.volume import Volume


class Assets(AppBase):
    def asset_extracted_directory(self, version: str | None = None) -> str:
        return self._assets_path("extracted", version)

    def asset_volume_directory(self, version: str | None = None) -> str:
        return self._assets_path("volumes", version)

    def asset_volume(self, version: str | None = None) -> Volume | None:
        if not self.role.assets or self.role.asset_path is None:
            return None
        return Volume(self.asset_volume_directory(version), self.role.asset_path, self.role.asset_path_options)

    def _assets_path(self, kind: str, version: str | None) -> str:
        name = f"{self.role.name}-{version if version is not None else self.version}"
        return f"{self.config.assets_directory}/{kind}/{name}"

    def extract_assets(self) -> Command:
        asset_container = f"{self.role.container_prefix}-assets"
        extracted = self.asset_extracted_directory()
        return combine(
            self.make_directory(extracted),
            docker("container", "rm", asset_container, "2> /dev/null", "|| true"),
            docker("container", "create", "--name", asset_container, self.absolute_image),
            docker("container", "cp", "-L", f"{asset_container}:{self.role.asset_path}/.", extracted),
            docker("container", "rm", asset_container),
        )

    def sync_asset_volumes(self, old_version: str | None = None) -> Command:
        new_extracted = self.asset_extracted_directory()
        new_volume = self.asset_volume_directory()
        commands = [self.make_directory(new_volume), _copy_contents(new_extracted, new_volume)]
        if old_version:
            old_extracted = self.asset_extracted_directory(old_version)
            old_volume = self.asset_volume_directory(old_version)
            commands.append(_copy_contents(new_extracted, old_volume, continue_on_error=True))
            commands.append(_copy_contents(old_extracted, new_volume, continue_on_error=True))
        return chain(*commands)

    def clean_up_assets(self) -> Command:
        return chain(
            self._remove_older_siblings(self.asset_extracted_directory()),
            self._remove_older_siblings(self.asset_volume_directory()),
        )

    def _remove_older_siblings(self, path: str) -> Command:
        return cmd(
            "find",
            posixpath.dirname(path),
            "-maxdepth 1",
            "-name",
            f"'{self.role.name}-*'",
            "!",
            "-name",
            posixpath.basename(path),
            '-exec rm -rf "{}" +',
        )


def _copy_contents(source: str, destination: str, *, continue_on_error: bool = False) -> Command:
    return cmd("cp", "-rnT", source, destination, "|| true" if continue_on_error else None)
