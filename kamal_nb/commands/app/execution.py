"""``kamal app exec``: a command in the running container or in a fresh one
(``Kamal::Commands::App::Execution``)."""

from __future__ import annotations

from collections.abc import Mapping

from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.base import interactive_flag
from kamal_nb.commands.command import Command, docker


class Execution(AppBase):
    def execute_in_existing_container(
        self, *command: str, env: Mapping[str, object], interactive: bool = False, tty: bool = True
    ) -> Command:
        return docker(
            "exec",
            interactive_flag(tty) if interactive else None,
            argumentize("--env", env),
            self.container_name(),
            command,
        )

    def execute_in_new_container(
        self,
        *command: str,
        env: Mapping[str, object],
        exec_suffix: str,
        interactive: bool = False,
        detach: bool = False,
        tty: bool = True,
    ) -> Command:
        """``exec_suffix`` is Kamal's ``SecureRandom.hex(3)`` (6 hex digits) naming the container."""
        return docker(
            "run",
            interactive_flag(tty) if interactive else None,
            "--detach" if detach else None,
            None if detach else "--rm",
            "--name",
            self.exec_container_name(exec_suffix),
            "--network",
            "kamal",
            self._role_env_args(),
            argumentize("--env", env),
            self._role_logging_args(),
            self._config_volume_args(),
            self._role_option_args(),
            self.absolute_image,
            command,
        )

    def execute_in_existing_container_over_ssh(self, *command: str, env: Mapping[str, object]) -> Command:
        return self.run_over_ssh(
            self.execute_in_existing_container(*command, interactive=True, env=env), host=self._ssh_host()
        )

    def execute_in_new_container_over_ssh(self, *command: str, env: Mapping[str, object], exec_suffix: str) -> Command:
        return self.run_over_ssh(
            self.execute_in_new_container(*command, interactive=True, env=env, exec_suffix=exec_suffix),
            host=self._ssh_host(),
        )

    def exec_container_name(self, exec_suffix: str) -> str:
        return "-".join((self.role.container_prefix, "exec", self.version, exec_suffix))

    def _ssh_host(self) -> str:
        if self.host is None:
            raise ValueError("exec over ssh needs a host")
        return self.host
