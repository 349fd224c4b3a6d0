"""The commands for an app's containers on one host and role (``Kamal::Commands::App``).

    app = App(config, role="web", host="1.1.1.1", version="abc123")
    app.run(hostname="1.1.1.1-0123456789ab")   # docker run … (the boot's hostname suffix is the caller's)
    app.deploy(target=container_id)             # kamal-proxy deploy …
    app.stop(version=old_version)

The parts mirror Kamal's modules: assets, containers, error pages, execution, images, logging, proxy.
"""

from __future__ import annotations

from kamal_nb.commands import docker_args
from kamal_nb.commands.app.assets import Assets
from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.app.containers import Containers
from kamal_nb.commands.app.error_pages import ErrorPages
from kamal_nb.commands.app.execution import Execution
from kamal_nb.commands.app.images import Images
from kamal_nb.commands.app.logging import Logging
from kamal_nb.commands.app.proxy import ProxyPart
from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.base import DOCKER_HEALTH_STATUS_FORMAT
from kamal_nb.commands.command import Command, docker, pipe, xargs
from kamal_nb.commands.env_file import env_file
from kamal_nb.redaction import Secret


class App(Assets, Containers, ErrorPages, Execution, Images, Logging, ProxyPart, AppBase):
    def run(self, *, hostname: str | None = None) -> Command:
        """``docker run`` for the role's new container; Kamal passes ``hostname`` as
        ``<host[0...51] without a trailing dot>-<12 hex>``: see ``container_hostname``."""
        role, host = self.role, self._host()
        name = self.container_name()
        asset_volume = self.asset_volume()
        return docker(
            "run",
            "--detach",
            "--restart",
            role.restart_policy,
            "--name",
            name,
            "--network",
            "kamal",
            ["--hostname", hostname] if hostname else None,
            "--env",
            f'KAMAL_CONTAINER_NAME="{name}"',
            "--env",
            f'KAMAL_VERSION="{self.version}"',
            "--env",
            f'KAMAL_HOST="{host}"',
            ["--env", f'KAMAL_DESTINATION="{self.config.destination}"'] if self.config.destination else None,
            self._role_env_args(),
            self._role_logging_args(),
            self._config_volume_args(),
            asset_volume.docker_args() if asset_volume else None,
            docker_args.label_args(role.labels),
            self._role_option_args(),
            self.absolute_image,
            role.cmd,
        )

    def start(self) -> Command:
        return docker("start", self.container_name())

    def status(self, *, version: str) -> Command:
        return pipe(
            self.container_id_for_version(version), xargs(docker("inspect", "--format", DOCKER_HEALTH_STATUS_FORMAT))
        )

    def stop(self, *, version: str | None = None) -> Command:
        container = self.container_id_for_version(version) if version else self.current_running_container_id()
        return pipe(container, xargs(docker("stop", self._stop_args())))

    def info(self) -> Command:
        return docker("ps", self._container_filter_args())

    def current_running_version(self) -> Command:
        return pipe(self._current_running_container("--format '{{.Names}}'"), self._extract_version_from_name())

    def list_versions(self, *docker_args: str, statuses: tuple[str, ...] | None = None) -> Command:
        return pipe(
            docker("ps", self._container_filter_args(statuses), docker_args, "--format", '"{{.Names}}"'),
            self._extract_version_from_name(),
        )

    def ensure_env_directory(self) -> Command:
        return self.make_directory(docker_args.role_env_directory(self.config))

    # -- the env file uploaded before `run` (not a command, but part of the same contract) ---------

    @property
    def secrets_path(self) -> str:
        """Where the role's env file goes (mode 0600): ``.kamal/apps/<svc[-dest]>/env/roles/<role>.env``."""
        return docker_args.role_secrets_file(self.config, self.role)

    def secrets_io(self) -> Secret:
        """The role's env file content for this host (``Role#secrets_io``)."""
        return env_file(self.config.role_secret_env(self.role, self._host()))

    def _stop_args(self) -> list[str]:
        # kamal-proxy drains requests before returning, so proxy roles get docker's default timeout.
        timeout = self.role.stop_timeout_seconds
        return [str(token) for token in argumentize("-t", timeout)] if timeout is not None else []

    def _host(self) -> str:
        if self.host is None:
            raise ValueError("this command needs a host")
        return self.host


def container_hostname(host: str, suffix: str) -> str:
    """The ``--hostname`` Kamal gives a booted container: the host (51 chars at most, no trailing
    dot) and a random 12-hex ``suffix`` (``SecureRandom.hex(6)``) the caller supplies."""
    return f"{host[:51].removesuffix('.')}-{suffix}"


def replaced_version(version: str, suffix: str) -> str:
    """The name a clashing container of the same version is renamed to: ``<v>_replaced_<16 hex>``."""
    return f"{version}_replaced_{suffix}"


__all__ = ["App", "container_hostname", "replaced_version"]
