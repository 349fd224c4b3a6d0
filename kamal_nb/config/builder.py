"""Image build settings (lib/kamal/configuration/builder.rb)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kamal_nb.config.frozen import Frozen, freeze_mapping
from kamal_nb.ruby.values import is_blank, ruby_to_s


def _opt_str(value: Frozen) -> str | None:
    return None if value is None else ruby_to_s(value)


@dataclass(frozen=True)
class Builder:
    raw: Mapping[object, Frozen]

    @property
    def arches(self) -> tuple[str, ...]:
        if "arch" not in self.raw:
            return () if self.docker_driver else ("amd64", "arm64")
        arch = self.raw["arch"]
        return tuple(ruby_to_s(a) for a in arch) if isinstance(arch, tuple) else (ruby_to_s(arch),)

    @property
    def remote(self) -> str | None:
        return _opt_str(self.raw.get("remote"))

    @property
    def local_disabled(self) -> bool:
        return self.raw.get("local") is False

    def local_arches(self, local_arch: str) -> tuple[str, ...]:
        """Arches built locally. ``local_arch`` is the docker engine's arch (amd64/arm64), which Kamal
        asks ``docker info`` for; the caller provides it so loading a config runs nothing."""
        if self.local_disabled:
            return ()
        if self.remote:
            return tuple(a for a in self.arches if a == local_arch)
        return self.arches

    def remote_arches(self, local_arch: str) -> tuple[str, ...]:
        if not self.remote:
            return ()
        local = self.local_arches(local_arch)
        return tuple(a for a in self.arches if a not in local)

    @property
    def driver(self) -> str:
        return ruby_to_s(self.raw.get("driver", "docker-container"))

    @property
    def docker_driver(self) -> bool:
        return self.driver == "docker"

    @property
    def cloud(self) -> bool:
        return self.driver.startswith("cloud")

    @property
    def context(self) -> str:
        return ruby_to_s(self.raw.get("context") or ".")

    @property
    def context_set(self) -> bool:
        """Without ``context`` Kamal builds from a clean git clone of HEAD."""
        return self.raw.get("context") is not None

    @property
    def dockerfile(self) -> str:
        return ruby_to_s(self.raw.get("dockerfile") or "Dockerfile")

    @property
    def target(self) -> str | None:
        return _opt_str(self.raw.get("target"))

    @property
    def args(self) -> Mapping[object, Frozen]:
        return freeze_mapping(self.raw.get("args"))

    @property
    def secret_names(self) -> tuple[str, ...]:
        secrets = self.raw.get("secrets") or ()
        return tuple(ruby_to_s(s) for s in secrets) if isinstance(secrets, tuple) else ()

    @property
    def ssh(self) -> str | None:
        return _opt_str(self.raw.get("ssh"))

    @property
    def provenance(self) -> Frozen:
        return self.raw.get("provenance")

    @property
    def sbom(self) -> Frozen:
        return self.raw.get("sbom")

    @property
    def cache(self) -> Mapping[object, Frozen] | None:
        cache = self.raw.get("cache")
        return cache if isinstance(cache, Mapping) else None

    @property
    def pack(self) -> Mapping[object, Frozen] | None:
        pack = self.raw.get("pack")
        return pack if isinstance(pack, Mapping) and not is_blank(pack) else None
