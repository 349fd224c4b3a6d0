"""State and lookups shared by the parts of the App commands: which role, host and version, and how
Kamal finds an app's containers (labels, names, the ``latest`` tag)."""

from __future__ import annotations

from kamal_nb.commands import docker_args
from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, Token, docker, pipe, shell
from kamal_nb.config import Config, Role

ACTIVE_DOCKER_STATUSES = ("running", "restarting")


class AppBase(Base):
    def __init__(
        self, config: Config, *, role: Role | str | None = None, host: str | None = None, version: str | None = None
    ) -> None:
        super().__init__(config)
        self._role = _resolve_role(config, role)
        self.host = host
        self._version = version

    @property
    def role(self) -> Role:
        if self._role is None:
            raise ValueError("this command needs a role")
        return self._role

    @property
    def version(self) -> str:
        """The version to operate on: given, else the config's (``--version``/``$VERSION``/git)."""
        return self._version if self._version is not None else self.config.version

    @property
    def absolute_image(self) -> str:
        return f"{self.config.repository}:{self.version}"

    def container_name(self, version: str | None = None) -> str:
        return self.role.container_name(version if version is not None else self.version)

    # -- the role's docker run arguments ------------------------------------------------------------

    def _role_env_args(self) -> list[Token]:
        if self._role is None:
            return []
        if self.host is None:
            raise ValueError("the container env depends on the host (env tags): give a host")
        return docker_args.role_env_args(self.config, self._role, self.host)

    def _role_logging_args(self) -> list[Token]:
        return docker_args.logging_args(self.role.logging)

    def _config_volume_args(self) -> list[Token]:
        return docker_args.volume_args(self.config.volumes)

    def _role_option_args(self) -> list[Token]:
        return docker_args.option_args(self._role.options) if self._role is not None else []

    # -- finding containers ----------------------------------------------------------------------

    def current_running_container_id(self) -> Command:
        return self._current_running_container("--quiet")

    def container_id_for_version(self, version: str, *, only_running: bool = False) -> Command:
        return self.container_id_for(container_name=self.container_name(version), only_running=only_running)

    def _container_filters(self, statuses: tuple[str, ...] | None = None) -> list[str]:
        filters = [f"label=service={self.config.service}", f"label=destination={self.config.destination or ''}"]
        if self._role is not None:
            filters.append(f"label=role={self._role.name}")
        filters += [f"status={status}" for status in statuses or ()]
        return filters

    def _container_filter_args(self, statuses: tuple[str, ...] | None = None) -> list[Token]:
        return argumentize("--filter", self._container_filters(statuses))

    def _image_filter_args(self) -> list[Token]:
        return argumentize("--filter", [f"label=service={self.config.service}"])

    def _latest_image_id(self) -> Command:
        return docker(
            "image", "ls", argumentize("--filter", f"reference={self.config.latest_image}"), "--format", "'{{.ID}}'"
        )

    def _current_running_container(self, format: str) -> Command:
        # The newest running container built from the image tagged latest; failing that, the newest
        # running one with the app's labels.
        latest_image = self._latest_container(format, filters=[f"ancestor=$({self._latest_image_id().wire()})"])
        latest_any = self._latest_container(format)
        return pipe(shell((*latest_image.argv, ";", *latest_any.argv)), ["head", "-1"])

    def _latest_container(self, format: str, filters: list[str] | None = None) -> Command:
        return docker(
            "ps",
            "--latest",
            format,
            self._container_filter_args(ACTIVE_DOCKER_STATUSES),
            argumentize("--filter", filters),
        )

    def _extract_version_from_name(self) -> str:
        # The version is whatever follows "<service>-<role>[-<destination>]-" in the name.
        return f"while read line; do echo ${{line#{self.role.container_prefix}-}}; done"


def _resolve_role(config: Config, role: Role | str | None) -> Role | None:
    if role is None or isinstance(role, Role):
        return role
    found = config.role(role)
    if found is None:
        raise ValueError(f"unknown role {role}")
    return found
