"""The commands for one accessory (a database, a cache…) on its hosts (``Kamal::Commands::Accessory``,
with its kamal-proxy part)."""

from __future__ import annotations

from kamal_nb.commands import docker_args, proxy_paths
from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.base import Base, interactive_flag
from kamal_nb.commands.command import Command, Part, Token, cmd, docker, pipe
from kamal_nb.commands.env_file import env_file
from kamal_nb.commands.proxy_options import deploy_command_args
from kamal_nb.commands.volume import Volume
from kamal_nb.config import Config, Proxy
from kamal_nb.redaction import Secret


class Accessory(Base):
    def __init__(self, config: Config, *, name: str) -> None:
        super().__init__(config)
        accessory = config.accessory(name)
        if accessory is None:
            raise ValueError(f"unknown accessory {name}")
        self.accessory = accessory

    @property
    def service_name(self) -> str:
        return self.accessory.service_name

    # -- what Kamal's Configuration::Accessory derives -------------------------------------------

    @property
    def secrets_path(self) -> str:
        return f"{self.config.env_directory}/accessories/{self.accessory.name}.env"

    @property
    def env_directory(self) -> str:
        return f"{self.config.env_directory}/accessories"

    def secrets_io(self) -> Secret:
        return env_file(self.accessory.env.secret_values(self.config.secrets))

    def _network_args(self) -> list[Token]:
        return argumentize("--network", self.accessory.network)

    def _publish_args(self) -> list[Token]:
        return argumentize("--publish", self.accessory.port) if self.accessory.port else []

    def _env_args(self) -> list[Token]:
        return docker_args.env_args(self.accessory.env, self.secrets_path)

    def _volume_args(self) -> list[Token]:
        paths = [*self.accessory.files, *self.accessory.directories]
        mounted = [Volume(p.host_path, p.container_path, p.options).docker_args() for p in paths]
        return [*docker_args.volume_args(self.accessory.volumes), *(token for args in mounted for token in args)]

    def _option_args(self) -> list[Token]:
        return docker_args.option_args(self.accessory.options)

    # -- commands --------------------------------------------------------------------------------

    def run(self, *, host: str | None = None) -> Command:
        return docker(
            "run",
            "--name",
            self.service_name,
            "--detach",
            "--restart",
            self.accessory.restart_policy,
            self._network_args(),
            docker_args.logging_args(self.config.logging),
            self._publish_args(),
            ["--env", f'KAMAL_HOST="{host}"'] if host else None,
            self._env_args(),
            self._volume_args(),
            docker_args.label_args(self.accessory.labels),
            self._option_args(),
            self.accessory.image,
            self.accessory.cmd,
        )

    def start(self) -> Command:
        return docker("container", "start", self.service_name)

    def stop(self) -> Command:
        return docker("container", "stop", self.service_name)

    def info(self, *, all: bool = False, quiet: bool = False) -> Command:
        return docker("ps", "-a" if all else None, "-q" if quiet else None, self._service_filter())

    def logs(
        self,
        *,
        timestamps: bool = True,
        since: str | None = None,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        # The leading spaces are Kamal's: they show up as double spaces in the command.
        return pipe(
            docker(
                "logs",
                self.service_name,
                f" --since {since}" if since else None,
                f" --tail {lines}" if lines else None,
                "--timestamps" if timestamps else None,
                "2>&1",
            ),
            _grep(grep, grep_options, quote="'"),
        )

    def follow_logs(
        self, *, timestamps: bool = True, grep: str | None = None, grep_options: str | None = None
    ) -> Command:
        return self.run_over_ssh(self.followed_logs(timestamps=timestamps, grep=grep, grep_options=grep_options))

    def followed_logs(
        self, *, timestamps: bool = True, grep: str | None = None, grep_options: str | None = None
    ) -> Command:
        """What ``follow_logs`` runs on the host (inside its ``ssh -t``)."""
        return pipe(
            docker(
                "logs",
                self.service_name,
                "--timestamps" if timestamps else None,
                "--tail",
                "10",
                "--follow",
                "2>&1",
            ),
            _grep(grep, grep_options, quote='"'),
        )

    def execute_in_existing_container(self, *command: str, interactive: bool = False, tty: bool = True) -> Command:
        return docker("exec", interactive_flag(tty) if interactive else None, self.service_name, command)

    def execute_in_new_container(self, *command: str, interactive: bool = False, tty: bool = True) -> Command:
        return docker(
            "run",
            interactive_flag(tty) if interactive else None,
            "--rm",
            self._network_args(),
            self._env_args(),
            self._volume_args(),
            self._option_args(),
            self.accessory.image,
            command,
        )

    def execute_in_existing_container_over_ssh(self, *command: str) -> Command:
        return self.run_over_ssh(self.execute_in_existing_container(*command, interactive=True))

    def execute_in_new_container_over_ssh(self, *command: str) -> Command:
        return self.run_over_ssh(self.execute_in_new_container(*command, interactive=True))

    def run_over_ssh(self, *command: Part, host: str | None = None) -> Command:
        """Over ssh on the accessory's first host, as Kamal does."""
        return super().run_over_ssh(*command, host=host if host is not None else self.accessory.hosts[0])

    def pull_image(self) -> Command:
        return docker("image", "pull", self.accessory.image)

    def remove_service_directory(self) -> Command:
        return cmd("rm", "-rf", self.service_name)

    def remove_container(self) -> Command:
        return docker("container", "prune", "--force", self._service_filter())

    def remove_image(self) -> Command:
        return docker("image", "rm", "--force", self.accessory.image)

    def ensure_env_directory(self) -> Command:
        return self.make_directory(self.env_directory)

    # -- kamal-proxy (Kamal::Commands::Accessory::Proxy) ------------------------------------------

    def deploy(self, *, target: str) -> Command:
        proxy = self._proxy()
        return self._proxy_exec("deploy", self.service_name, *deploy_command_args(proxy, self.config, target=target))

    def remove(self) -> Command:
        return self._proxy_exec("remove", self.service_name)

    def _proxy(self) -> Proxy:
        if self.accessory.proxy is None:
            raise ValueError(f"accessory {self.accessory.name} has no proxy settings")
        return self.accessory.proxy

    def _proxy_exec(self, *command: Token) -> Command:
        return docker("exec", proxy_paths.CONTAINER_NAME, "kamal-proxy", *command)

    def _service_filter(self) -> list[str]:
        return ["--filter", f"label=service={self.service_name}"]


def _grep(grep: str | None, options: str | None, *, quote: str) -> str | None:
    if not grep:
        return None
    return f"grep {quote}{grep}{quote}" + (f" {options}" if options else "")
