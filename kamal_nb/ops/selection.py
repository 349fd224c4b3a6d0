"""Which hosts and roles an operation works on: Kamal's `-r`, `-h` and `-p`, primary role first.

A port of Kamal 2.12's Commander#specific_* and Commander::Specifics.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

from kamal_nb.config import Config, Role


class SelectionError(ValueError):
    """A `-r` or `-h` filter that matches nothing (Kamal's `No --hosts match for ...`)."""


def fnmatch_extglob(pattern: str, name: str) -> bool:
    """Ruby's File.fnmatch(pattern, name, File::FNM_EXTGLOB): `*`, `?`, `[...]` and `{a,b}`."""
    return re.fullmatch(_glob_regex(pattern), name) is not None


def _glob_regex(pattern: str) -> str:
    out, i = [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "*":
            out.append(".*")
        elif char == "?":
            out.append(".")
        elif char == "[":
            end = pattern.find("]", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = pattern[i + 1 : end]
                out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
                i = end
        elif char == "{":
            end = pattern.find("}", i + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                out.append("(?:" + "|".join(_glob_regex(alt) for alt in pattern[i + 1 : end].split(",")) + ")")
                i = end
        elif char == "\\" and i + 1 < len(pattern):
            i += 1
            out.append(re.escape(pattern[i]))
        else:
            out.append(re.escape(char))
        i += 1
    return "".join(out)


def filter_items(filters: Sequence[str], items: Iterable[str]) -> list[str]:
    """Items matching any filter, in filter order then item order, without repeats."""
    matches: list[str] = []
    for pattern in filters:
        for item in items:
            if fnmatch_extglob(pattern, item) and item not in matches:
                matches.append(item)
    return matches


def _stable_sort_first(items: list[str], first: Iterable[str]) -> list[str]:
    chosen = set(first)
    return [i for i in items if i in chosen] + [i for i in items if i not in chosen]


@dataclass(frozen=True)
class Selection:
    """The hosts, roles and primary host for one operation, after the global filters."""

    config: Config
    specific_hosts: tuple[str, ...] | None = None
    specific_roles: tuple[Role, ...] | None = None

    @classmethod
    def from_filters(
        cls, config: Config, *, hosts: Sequence[str] = (), roles: Sequence[str] = (), primary: bool = False
    ) -> Selection:
        specific_roles: tuple[Role, ...] | None = None
        if roles:
            names = filter_items(roles, [r.name for r in config.roles])
            if not names:
                raise SelectionError(f"No --roles match for {','.join(roles)}")
            specific_roles = tuple(r for name in names for r in config.roles if r.name == name)
        specific_hosts: tuple[str, ...] | None = None
        if hosts:
            specific_hosts = tuple(filter_items(hosts, config.all_hosts))
            if not specific_hosts:
                raise SelectionError(f"No --hosts match for {','.join(hosts)}")
        if primary:
            if specific_roles:
                first = specific_roles[0].primary_host
                specific_hosts = (first,) if first else ()
            elif config.primary_host:
                specific_hosts = (config.primary_host,)
        return cls(config, specific_hosts, specific_roles)

    @cached_property
    def hosts(self) -> tuple[str, ...]:
        """Every selected host (accessory hosts included), primary role's hosts first."""
        hosts = list(self.specific_hosts if self.specific_hosts is not None else self.config.all_hosts)
        if self.specific_roles:
            role_hosts = {h for r in self.specific_roles for h in r.hosts}
            hosts = [h for h in hosts if h in role_hosts]
        return tuple(self._primary_role_hosts_first(hosts))

    @cached_property
    def roles(self) -> tuple[Role, ...]:
        """The selected roles with a selected host, the primary role first."""
        scope = set(self.specific_hosts if self.specific_hosts is not None else self.config.all_hosts)
        candidates = self.specific_roles if self.specific_roles is not None else self.config.roles
        roles = [r for r in candidates if scope & set(r.hosts)]
        primary = self.primary_role
        return tuple(sorted(roles, key=lambda r: 0 if primary is not None and r.name == primary.name else 1))

    @cached_property
    def primary_host(self) -> str | None:
        if self.specific_hosts:
            return self.specific_hosts[0]
        if self.specific_roles:
            role = self._primary_or_first(self.specific_roles)
            if role is not None and role.primary_host:
                return role.primary_host
        return self.config.primary_host

    @cached_property
    def primary_role(self) -> Role | None:
        host = self.primary_host
        candidates = self.specific_roles if self.specific_roles is not None else self.config.roles
        scope = set(self.specific_hosts if self.specific_hosts is not None else self.config.all_hosts)
        on_host = [r for r in candidates if scope & set(r.hosts) and host in r.hosts]
        return self._primary_or_first(on_host)

    def roles_on(self, host: str) -> tuple[Role, ...]:
        return tuple(r for r in self.roles if host in r.hosts)

    @cached_property
    def app_hosts(self) -> tuple[str, ...]:
        selected = set(self.hosts)
        return tuple(self._primary_role_hosts_first([h for h in self.config.app_hosts if h in selected]))

    @cached_property
    def proxy_hosts(self) -> tuple[str, ...]:
        selected = set(self.hosts)
        return tuple(h for h in self.config.proxy_hosts if h in selected)

    @cached_property
    def accessory_hosts(self) -> tuple[str, ...]:
        selected = set(self.hosts)
        hosts: list[str] = []
        for accessory in self.config.accessories:
            hosts += [h for h in accessory.hosts if h in selected and h not in hosts]
        return tuple(hosts)

    def _primary_or_first(self, roles: Sequence[Role]) -> Role | None:
        primary_name = self.config.primary_role_name
        return next((r for r in roles if r.name == primary_name), roles[0] if roles else None)

    def _primary_role_hosts_first(self, hosts: list[str]) -> list[str]:
        primary = self.primary_role
        return _stable_sort_first(hosts, primary.hosts if primary is not None else ())
