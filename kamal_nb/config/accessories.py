"""Accessories (databases, caches…): where they run and how their container is set up."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kamal_nb.config.env import Env
from kamal_nb.config.frozen import Frozen
from kamal_nb.config.proxy import Proxy
from kamal_nb.config.registry import Registry
from kamal_nb.ruby.values import ruby_to_s

DEFAULT_NETWORK = "kamal"


@dataclass(frozen=True)
class AccessoryPath:
    """One ``files`` or ``directories`` entry, resolved as Kamal resolves it.

    ``local`` is the local file (absolute; ``*.erb`` files are rendered at upload time) for files, and
    the host directory (``$PWD/<service>/<dir>`` unless absolute) for directories.
    """

    local: str
    host_path: str
    container_path: str
    mode: str | None
    owner: str | None
    options: str | None


@dataclass(frozen=True)
class Accessory:
    name: str
    # Container name: `service:` if set, else `<service>-<name>` (never per destination, as in Kamal).
    service_name: str
    # `[registry.server, image].join("/")` with the accessory's own registry, if any.
    image: str
    hosts: tuple[str, ...]
    # `3306` becomes `3306:3306`; None when unset.
    port: str | None
    labels: Mapping[str, str]
    options: Mapping[object, Frozen]
    cmd: str | None
    env: Env
    proxy: Proxy | None
    registry: Registry | None
    files: tuple[AccessoryPath, ...]
    directories: tuple[AccessoryPath, ...]
    volumes: tuple[str, ...]
    network: str

    @property
    def running_proxy(self) -> bool:
        return self.proxy is not None

    @property
    def docker_options(self) -> Mapping[object, Frozen]:
        return {key: value for key, value in self.options.items() if ruby_to_s(key) != "restart"}

    @property
    def restart_policy(self) -> str:
        for key, value in self.options.items():
            if ruby_to_s(key) == "restart":
                return ruby_to_s(value)
        return "unless-stopped"
