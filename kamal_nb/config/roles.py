"""Server roles: hosts and their tags, and each role's resolved settings (Kamal's Role class)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kamal_nb.config.docker_logging import Logging
from kamal_nb.config.env import Env
from kamal_nb.config.frozen import Frozen
from kamal_nb.config.proxy import Proxy
from kamal_nb.ruby.values import ruby_to_s


@dataclass(frozen=True)
class Role:
    name: str
    # Hosts in config order; each host's tags (`- 1.1.1.2: [tag1, tag2]`), in listed order.
    hosts: tuple[str, ...]
    host_tags: Mapping[str, tuple[str, ...]]
    primary: bool
    # `<service>-<role>[-<destination>]`: the container name prefix and kamal-proxy service name.
    container_prefix: str
    cmd: str | None
    # Docker options as written (`restart` included; see docker_options / restart_policy).
    options: Mapping[object, Frozen]
    # service/role/destination labels first, then root labels, then the role's (later win).
    labels: Mapping[str, str | None]
    logging: Logging
    running_proxy: bool
    # The role's proxy settings deep-merged over the root ones; None when the role runs no proxy.
    proxy: Proxy | None
    # Role stop_timeout, else the root one; None means Kamal's default (see stop_timeout_seconds).
    stop_timeout: int | None
    drain_timeout: int
    asset_path: str | None
    asset_path_options: str | None
    # Merged env per host: root, then role, then the host's tags in listed order.
    envs: Mapping[str, Env]

    @property
    def primary_host(self) -> str | None:
        return self.hosts[0] if self.hosts else None

    def env(self, host: str) -> Env:
        return self.envs[host]

    @property
    def docker_options(self) -> Mapping[object, Frozen]:
        """Options passed through to ``docker run`` (``restart`` becomes ``--restart`` separately)."""
        return {key: value for key, value in self.options.items() if ruby_to_s(key) != "restart"}

    @property
    def restart_policy(self) -> str:
        for key, value in self.options.items():
            if ruby_to_s(key) == "restart":
                return ruby_to_s(value)
        return "unless-stopped"

    @property
    def ssl(self) -> bool:
        return self.proxy is not None and self.proxy.ssl

    @property
    def stop_timeout_seconds(self) -> int | None:
        """``docker stop -t``: the stop_timeout, else drain_timeout for non-proxy roles (kamal-proxy
        already drained requests for proxy roles, so they get Docker's default)."""
        if self.stop_timeout is not None:
            return self.stop_timeout
        return None if self.running_proxy else self.drain_timeout

    @property
    def assets(self) -> bool:
        return bool(self.asset_path) and self.running_proxy

    def container_name(self, version: str) -> str:
        return f"{self.container_prefix}-{version}"
