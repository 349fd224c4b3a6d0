"""Installing and checking Docker on a host (``Kamal::Commands::Docker``)."""

from __future__ import annotations

from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, any_of, cmd, docker, pipe, shell


class Docker(Base):
    def install(self) -> Command:
        """The docker-install convenience script, fetched with curl or wget, piped to sh."""
        return pipe(self._get_docker(), "sh")

    def installed(self) -> Command:
        """Kamal's ``installed?``: the client version; fails without Docker."""
        return docker("-v")

    def running(self) -> Command:
        """Kamal's ``running?``: the server version; fails when the daemon is down."""
        return docker("version")

    def superuser(self) -> Command:
        return cmd('[ "${EUID:-$(id -u)}" -eq 0 ] || sudo -nl usermod >/dev/null')

    def root(self) -> Command:
        return cmd('[ "${EUID:-$(id -u)}" -eq 0 ]')

    def in_docker_group(self) -> Command:
        return cmd('id -nG "${USER:-$(id -un)}" | grep -qw docker')

    def add_to_docker_group(self) -> Command:
        return cmd('sudo -n usermod -aG docker "${USER:-$(id -un)}"')

    def refresh_session(self) -> Command:
        return cmd("kill -HUP $PPID")

    def create_network(self) -> Command:
        return docker("network", "create", "kamal")

    def _get_docker(self) -> Command:
        return shell(
            any_of(
                cmd("curl", "-fsSL", "https://get.docker.com"),
                cmd("wget", "-O -", "https://get.docker.com"),
                cmd("echo", '"exit 1"'),
            )
        )
