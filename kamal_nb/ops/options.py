"""Kamal's global options, which every command accepts (`-c -d -r -h -p --version -H ...`)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONFIG_FILE = "config/deploy.yml"


@dataclass(frozen=True)
class GlobalOptions:
    config_file: str = DEFAULT_CONFIG_FILE
    destination: str | None = None
    roles: tuple[str, ...] = ()  # -r: globs, as Kamal's comma list
    hosts: tuple[str, ...] = ()  # -h: globs
    primary: bool = False  # -p
    version: str | None = None
    skip_hooks: bool = False  # -H
    verbose: bool = False
    quiet: bool = False
    lock_wait: bool = False
    lock_wait_timeout: float = 900.0
    lock_wait_interval: float = 15.0

    @staticmethod
    def split_list(values: str | list[str] | tuple[str, ...] | None) -> tuple[str, ...]:
        """`-h a,b -h c` → ("a", "b", "c"), as Kamal splits its comma lists."""
        if values is None:
            return ()
        items = [values] if isinstance(values, str) else list(values)
        return tuple(part.strip() for item in items for part in item.split(",") if part.strip())
