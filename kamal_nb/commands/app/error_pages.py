"""Custom error pages served by kamal-proxy (``Kamal::Commands::App::ErrorPages``)."""

from __future__ import annotations

from kamal_nb.commands import proxy_paths
from kamal_nb.commands.app.base import AppBase
from kamal_nb.commands.command import Command, cmd


class ErrorPages(AppBase):
    def create_error_pages_directory(self) -> Command:
        return self.make_directory(proxy_paths.error_pages_directory(self.config))

    def clean_up_error_pages(self) -> Command:
        """Remove every version's pages but the current one's."""
        directory = proxy_paths.error_pages_directory(self.config)
        return cmd(
            "find",
            directory,
            "-mindepth",
            "1",
            "-maxdepth",
            "1",
            "!",
            "-name",
            self.version,
            "-exec",
            "rm",
            "-rf",
            "{} +",
        )
