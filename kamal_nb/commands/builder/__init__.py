"""Image builds (``Kamal::Commands::Builder``): picks the builder Kamal would use for the config.

builder = Builder(config, local_arch="amd64", version="abc123")
builder.name            # "local" | "remote" | "hybrid" | "pack" | "cloud"
builder.target.push()   # docker buildx build … (or pack build … && docker push …)
"""

from __future__ import annotations

from kamal_nb.commands.builder.base import BuilderBase
from kamal_nb.commands.builder.clone import Clone, GitCheckout
from kamal_nb.commands.builder.cloud import Cloud
from kamal_nb.commands.builder.hybrid import Hybrid
from kamal_nb.commands.builder.local import Local
from kamal_nb.commands.builder.pack import Pack
from kamal_nb.commands.builder.remote import Remote
from kamal_nb.config import Config
from kamal_nb.ruby.values import is_truthy


class Builder:
    def __init__(self, config: Config, *, local_arch: str | None = None, version: str | None = None) -> None:
        self.config = config
        self.local_arch = local_arch
        self.version = version

    def _make(self, kind: type[BuilderBase]) -> BuilderBase:
        return kind(self.config, local_arch=self.local_arch, version=self.version)

    @property
    def local(self) -> Local:
        return Local(self.config, local_arch=self.local_arch, version=self.version)

    @property
    def remote(self) -> Remote:
        return Remote(self.config, local_arch=self.local_arch, version=self.version)

    @property
    def hybrid(self) -> Hybrid:
        return Hybrid(self.config, local_arch=self.local_arch, version=self.version)

    @property
    def pack(self) -> Pack:
        return Pack(self.config, local_arch=self.local_arch, version=self.version)

    @property
    def cloud(self) -> Cloud:
        return Cloud(self.config, local_arch=self.local_arch, version=self.version)

    @property
    def is_remote(self) -> bool:
        """Kamal's ``remote?``: some arch is built on the remote builder."""
        return bool(self.local.remote_arches)

    @property
    def is_local(self) -> bool:
        """Kamal's ``local?``."""
        builder = self.config.builder
        return not builder.local_disabled and (not builder.arches or bool(self.local.local_arches))

    @property
    def is_pack(self) -> bool:
        return is_truthy(self.config.builder.raw.get("pack"))

    @property
    def is_cloud(self) -> bool:
        return self.config.builder.cloud

    @property
    def target(self) -> BuilderBase:
        if self.is_remote:
            return self.hybrid if self.is_local else self.remote
        if self.is_pack:
            return self.pack
        if self.is_cloud:
            return self.cloud
        return self.local

    @property
    def name(self) -> str:
        return type(self.target).__name__.lower()

    def clone(self, checkout: GitCheckout) -> Clone:
        return Clone(self.config, checkout)


__all__ = ["Builder", "BuilderBase", "Clone", "Cloud", "GitCheckout", "Hybrid", "Local", "Pack", "Remote"]
