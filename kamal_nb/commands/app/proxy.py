"""Registering the app with kamal-proxy on a host (``Kamal::Commands::App::Proxy``)."""

from __future__ import annotations

from kamal_nb.commands import proxy_paths
from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.command import Command, Part, docker
from kamal_nb.commands.proxy_options import deploy_command_args, stop_command_args
from kamal_nb.config import Proxy


class ProxyPart(AppBase):
    def deploy(self, *, target: str) -> Command:
        """``kamal-proxy deploy <service-role[-dest]> --target="<container id>:<app_port>" …``."""
        return self._proxy_exec(
            "deploy",
            self.role.container_prefix,
            deploy_command_args(self._role_proxy(), self.config, target=target, version=self._version),
        )

    def remove(self) -> Command:
        return self._proxy_exec("remove", self.role.container_prefix)

    def routes(self) -> Command:
        """kamal_nb's own read (not Kamal's): kamal-proxy's table of services and their targets."""
        return self._proxy_exec("list")

    def live(self) -> Command:
        return self._proxy_exec("resume", self.role.container_prefix)

    def maintenance(self, *, drain_timeout: int | str | None = None, message: str | None = None) -> Command:
        return self._proxy_exec(
            "stop", self.role.container_prefix, stop_command_args(drain_timeout=drain_timeout, message=message)
        )

    def remove_proxy_app_directory(self) -> Command:
        return self.remove_directory(proxy_paths.app_directory(self.config))

    def create_ssl_directory(self) -> Command:
        return self.make_directory(f"{proxy_paths.tls_directory(self.config)}/{self.role.name}")

    def _role_proxy(self) -> Proxy:
        if self.role.proxy is None:
            raise ValueError(f"role {self.role.name} does not run kamal-proxy")
        return self.role.proxy

    def _proxy_exec(self, *command: Part | list[str]) -> Command:
        return docker("exec", proxy_paths.CONTAINER_NAME, "kamal-proxy", *command)
