"""``kamal app logs``, once or followed over ssh (``Kamal::Commands::App::Logging``)."""

from __future__ import annotations

from collections.abc import Sequence

from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.command import Command, Token, pipe, shell

ContainerId = str | Sequence[Token] | Command | None


class Logging(AppBase):
    def logs(
        self,
        *,
        container_id: ContainerId = None,
        timestamps: bool = True,
        since: str | None = None,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        xargs_logs = (
            "xargs docker logs"
            + (" --timestamps" if timestamps else "")
            + (f" --since {since}" if since else "")
            + (f" --tail {lines}" if lines else "")
            + " 2>&1"
        )
        grep_part = f"grep '{grep}'" + (f" {grep_options}" if grep_options else "") if grep else None
        return pipe(self._container_id_command(container_id), xargs_logs, grep_part)

    def follow_logs(
        self,
        *,
        host: str,
        container_id: ContainerId = None,
        timestamps: bool = True,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        followed = self.followed_logs(
            container_id=container_id, timestamps=timestamps, lines=lines, grep=grep, grep_options=grep_options
        )
        return self.run_over_ssh(followed, host=host)

    def followed_logs(
        self,
        *,
        container_id: ContainerId = None,
        timestamps: bool = True,
        lines: int | str | None = None,
        grep: str | None = None,
        grep_options: str | None = None,
    ) -> Command:
        """What ``follow_logs`` runs on the host (inside its ``ssh -t``)."""
        xargs_logs = (
            "xargs docker logs"
            + (" --timestamps" if timestamps else "")
            + (f" --tail {lines}" if lines else "")
            + " --follow 2>&1"
        )
        grep_part = f'grep "{grep}"' + (f" {grep_options}" if grep_options else "") if grep else None
        return pipe(self._container_id_command(container_id), xargs_logs, grep_part)

    def _container_id_command(self, container_id: ContainerId) -> Command:
        if isinstance(container_id, str):
            return shell(f"echo {container_id}")
        if isinstance(container_id, Command):
            return container_id
        if container_id is not None:
            return Command(tuple(container_id))
        return self.current_running_container_id()
