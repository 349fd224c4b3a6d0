"""Cloud Native Buildpacks with ``pack``, then ``docker push`` (``Kamal::Commands::Builder::Pack``)."""

from __future__ import annotations

from collections.abc import Mapping

from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.builder.base import BuilderBase
from kamal_nb.commands.command import Command, cmd, combine, docker
from kamal_nb.config.frozen import Frozen
from kamal_nb.ruby.values import ruby_to_s

IMAGE_LABELS_BUILDPACK = "paketo-buildpacks/image-labels"


class Pack(BuilderBase):
    def push(self, export_action: str = "registry", *, tag_as_dirty: bool = False, no_cache: bool = False) -> Command:
        return combine(self._build(tag_as_dirty=tag_as_dirty, no_cache=no_cache), self._export(export_action))

    def remove(self) -> None:
        return None

    def info(self) -> Command:
        return cmd("pack", "builder", "inspect", self.pack_builder)

    def inspect_builder(self) -> Command:
        return self.info()

    @property
    def pack_settings(self) -> Mapping[object, Frozen]:
        pack = self.config.builder.raw.get("pack")
        return pack if isinstance(pack, Mapping) else {}

    @property
    def pack_builder(self) -> str:
        return ruby_to_s(self.pack_settings.get("builder"))

    @property
    def pack_buildpacks(self) -> list[str]:
        buildpacks = self.pack_settings.get("buildpacks")
        return [ruby_to_s(b) for b in buildpacks] if isinstance(buildpacks, tuple) else []

    def _build(self, *, tag_as_dirty: bool, no_cache: bool) -> Command:
        buildpacks = [*self.pack_buildpacks, IMAGE_LABELS_BUILDPACK]
        return cmd(
            "pack",
            "build",
            self.config.repository,
            "--platform",
            f"linux/{self.local_arches[0]}",
            "--creation-time",
            "now",
            "--builder",
            self.pack_builder,
            [token for buildpack in buildpacks for token in ("--buildpack", buildpack)],
            self._build_tag_options(tag_as_dirty=tag_as_dirty),
            "--clear-cache" if no_cache else None,
            "--env",
            f"BP_IMAGE_LABELS=service={self.config.service}",
            argumentize("--env", self.config.builder.args),
            argumentize("--env", self.secrets, sensitive=True),
            "--path",
            self.build_context(),
        )

    def _export(self, export_action: str) -> Command | None:
        if export_action != "registry":
            return None
        return combine(docker("push", self.absolute_image), docker("push", self.latest_image))
