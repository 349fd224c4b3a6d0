"""SSH connection settings (``ssh``) and SSHKit's pool settings (``sshkit``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kamal_nb.config.frozen import Frozen
from kamal_nb.ruby.values import RubySymbol, ruby_to_s


@dataclass(frozen=True)
class Ssh:
    raw: Mapping[object, Frozen]

    @property
    def user(self) -> str:
        return ruby_to_s(self.raw.get("user", "root"))

    @property
    def port(self) -> int | str:
        port = self.raw.get("port", 22)
        return port if isinstance(port, int) else ruby_to_s(port)

    @property
    def proxy(self) -> str | None:
        """The jump host as ``user@host`` (Kamal adds ``root@`` when no user is given)."""
        proxy = self.raw.get("proxy")
        if proxy is None:
            return None
        text = ruby_to_s(proxy)
        return text if "@" in text else f"root@{text}"

    @property
    def proxy_command(self) -> str | None:
        if self.raw.get("proxy") is not None or self.raw.get("proxy_command") is None:
            return None
        return ruby_to_s(self.raw["proxy_command"])

    @property
    def log_level(self) -> str:
        level = self.raw.get("log_level", RubySymbol("fatal"))
        return ruby_to_s(level)

    @property
    def keys_only(self) -> bool | None:
        value = self.raw.get("keys_only")
        return None if value is None else bool(value)

    @property
    def keys(self) -> tuple[str, ...] | None:
        keys = self.raw.get("keys")
        return tuple(ruby_to_s(k) for k in keys) if isinstance(keys, tuple) else None

    @property
    def key_data(self) -> tuple[str, ...] | None:
        """Secret names (or, deprecated, inline keys: Kamal uses the entry itself when no secret has
        that name). Resolve with Config.ssh_key_data()."""
        data = self.raw.get("key_data")
        return tuple(ruby_to_s(k) for k in data) if isinstance(data, tuple) else None

    @property
    def config(self) -> bool | str | tuple[str, ...] | None:
        value = self.raw.get("config")
        if isinstance(value, tuple):
            return tuple(ruby_to_s(v) for v in value)
        if value is None or isinstance(value, bool):
            return value
        return ruby_to_s(value)

    @property
    def forward_agent(self) -> bool | None:
        value = self.raw.get("forward_agent")
        return None if value is None else bool(value)


@dataclass(frozen=True)
class Sshkit:
    raw: Mapping[object, Frozen]

    @property
    def max_concurrent_starts(self) -> int:
        value = self.raw.get("max_concurrent_starts", 30)
        return value if isinstance(value, int) else 30

    @property
    def pool_idle_timeout(self) -> int:
        value = self.raw.get("pool_idle_timeout", 900)
        return value if isinstance(value, int) else 900

    @property
    def dns_retries(self) -> int:
        value = self.raw.get("dns_retries", 3)
        return value if isinstance(value, int) else 3
