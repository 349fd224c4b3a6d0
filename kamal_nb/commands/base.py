"""What every Kamal command class inherits (``Kamal::Commands::Base``): ssh lines, directories,
container lookups by name, the docker/buildx presence check."""

from __future__ import annotations

import posixpath

from kamal_nb.commands.command import Command, Part, Token, cmd, combine, docker, single_quoted, tokens_of
from kamal_nb.config import Config

DOCKER_HEALTH_STATUS_FORMAT = "'{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'"


def interactive_flag(tty: bool) -> str:
    """Kamal asks ``STDIN.isatty``; callers pass the answer, so building stays free of I/O."""
    return "-it" if tty else "-i"


class Base:
    def __init__(self, config: Config) -> None:
        self.config = config

    def run_over_ssh(self, *command: Part, host: str) -> Command:
        """``ssh [-F …] [-J …|-o ProxyCommand=…] [-i key…] -t user@host -p port '<command>'``."""
        ssh = self.config.ssh
        argv: list[Token] = ["ssh"]
        config = ssh.config
        if isinstance(config, tuple):
            for file in config:
                argv += ["-F", file]
        elif isinstance(config, str):
            argv += ["-F", config]
        elif config is False:
            argv += ["-F", "/dev/null"]
        if ssh.proxy is not None:
            argv += ["-J", ssh.proxy]
        elif ssh.proxy_command is not None:
            argv += ["-o", f"ProxyCommand='{ssh.proxy_command}'"]
        for key in ssh.keys or ():
            argv += ["-i", key]
        if ssh.keys_only:
            argv += ["-o", "IdentitiesOnly=yes"]
        argv += ["-t", f"{ssh.user}@{host}", "-p", str(ssh.port)]
        argv.append(single_quoted(token for part in command for token in tokens_of(part)))
        return Command(tuple(argv))

    def container_id_for(self, *, container_name: str, only_running: bool = False) -> Command:
        return docker(
            "container", "ls", None if only_running else "--all", "--filter", f"'name=^{container_name}$'", "--quiet"
        )

    def make_directory_for(self, remote_file: str) -> Command:
        return self.make_directory(posixpath.dirname(remote_file) or ".")

    def make_directory(self, path: str) -> Command:
        return cmd("mkdir", "-p", path)

    def remove_directory(self, path: str) -> Command:
        return cmd("rm", "-r", path)

    def remove_file(self, path: str) -> Command:
        return cmd("rm", path)

    def ensure_docker_installed(self) -> Command:
        return combine(docker("--version"), docker("buildx", "version"))
