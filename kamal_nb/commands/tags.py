"""The details Kamal stamps on audit lines and hook environments (``Kamal::Tags``).

Time and performer come from the caller (``Time.now.utc.iso8601`` and ``git config user.email`` or
``whoami`` in Kamal), so building a command never reads the clock or runs git.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from kamal_nb.config import Config, Role
from kamal_nb.config.version import abbreviated
from kamal_nb.ruby.values import ruby_to_s


def iso8601(moment: datetime.datetime) -> str:
    """Ruby ``Time#utc.iso8601``: ``2024-01-01T00:00:00Z`` (whole seconds)."""
    return moment.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def detail_text(value: object) -> str:
    """Ruby ``to_s`` of a detail: a Role is its name (``[web]``)."""
    if isinstance(value, Role):
        return value.name
    return ruby_to_s(value)


class Tags:
    def __init__(self, tags: Mapping[str, object]) -> None:
        # Ruby's `compact`: nil details are dropped; order is kept (later keys overwrite in place).
        self.tags = {key: value for key, value in tags.items() if value is not None}

    @classmethod
    def from_config(
        cls,
        config: Config,
        *,
        recorded_at: str,
        performer: str,
        version: str | None = None,
        details: Mapping[str, object] | None = None,
    ) -> Tags:
        """``version`` defaults to the config's (resolved lazily: only hook envs need it)."""
        resolved = version if version is not None else config.version
        defaults: dict[str, object] = {
            "recorded_at": recorded_at,
            "performer": performer,
            "destination": config.destination,
            "version": resolved,
            "service_version": f"{config.service}@{abbreviated(resolved)}",
            "service": config.service,
        }
        return cls({**defaults, **(details or {})})

    def env(self) -> dict[str, str]:
        return {f"KAMAL_{key.upper()}": detail_text(value) for key, value in self.tags.items()}

    def __str__(self) -> str:
        return " ".join(f"[{detail_text(value)}]" for value in self.tags.values())

    def except_(self, *keys: str) -> Tags:
        return Tags({key: value for key, value in self.tags.items() if key not in keys})
