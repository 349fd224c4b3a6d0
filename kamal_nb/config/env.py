"""Environment variables for app and accessory containers: clear values, and secret names.

Secret values are not copied into the model: the names are, and ``secret_values`` looks them up in
the (lazy) secrets files, so they stay redacted ``Secret`` objects and load only when needed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from kamal_nb.config.frozen import Frozen
from kamal_nb.config.secret_source import SecretsSource, SecretValue
from kamal_nb.ruby.values import RubySymbol, ruby_to_s

# Clear values keep their YAML type: Kamal passes `false` as `K=false` and blank ones as a bare `K`.
EnvValue = str | int | float | bool | None


def _env_value(value: object) -> EnvValue:
    if isinstance(value, RubySymbol):
        return value.name
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return ruby_to_s(value)


@dataclass(frozen=True)
class Env:
    clear: Mapping[str, EnvValue]
    # As written: `NAME` or `NAME:SECRET_NAME` (the alias form reads another secret into NAME).
    secret_keys: tuple[str, ...]

    @classmethod
    def from_raw(cls, raw: Mapping[object, Frozen]) -> Env:
        """Kamal's Env: a plain hash means all clear; otherwise `clear` and `secret` (tags aside)."""
        complex_form = "clear" in raw or "secret" in raw or "tags" in raw
        clear_raw = (raw.get("clear") or {}) if complex_form else raw
        assert isinstance(clear_raw, Mapping)
        secret_raw = raw.get("secret") or ()
        assert isinstance(secret_raw, tuple)
        clear = {ruby_to_s(key): _env_value(value) for key, value in clear_raw.items()}
        return cls(MappingProxyType(clear), tuple(ruby_to_s(key) for key in secret_raw))

    @classmethod
    def empty(cls) -> Env:
        return cls(MappingProxyType({}), ())

    def merge(self, other: Env) -> Env:
        """Later clear values win; secret keys are unioned in order (Ruby ``Array#|``)."""
        return Env(
            MappingProxyType({**self.clear, **other.clear}),
            tuple(dict.fromkeys((*self.secret_keys, *other.secret_keys))),
        )

    @property
    def secret_names(self) -> Mapping[str, str]:
        """Env var name -> secret name, resolving the ``NAME:SECRET_NAME`` alias form."""
        names: dict[str, str] = {}
        for key in self.secret_keys:
            name, _, aliased = key.partition(":")
            names[name] = aliased if aliased else name
        return MappingProxyType(names)

    def secret_values(self, secrets: SecretsSource) -> Mapping[str, SecretValue]:
        """Env var name -> redacted Secret, read from the secrets files (loads them on first use)."""
        return MappingProxyType({name: secrets[secret] for name, secret in self.secret_names.items()})
