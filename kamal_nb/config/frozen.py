"""Immutable copies of loaded YAML values, so a Config can be shared and never changes under you."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kamal_nb.ruby.values import Scalar, ruby_to_s

# A YAML value frozen: mappings become read-only proxies (insertion order kept), lists tuples.
Frozen = Scalar | tuple["Frozen", ...] | Mapping[object, "Frozen"]

EMPTY: Mapping[object, Frozen] = MappingProxyType({})


def freeze(value: object) -> Frozen:
    if isinstance(value, Mapping):
        return MappingProxyType({key: freeze(item) for key, item in value.items()})
    if isinstance(value, list | tuple):
        return tuple(freeze(item) for item in value)
    return value  # type: ignore[return-value]  # scalars are already immutable


def freeze_mapping(value: object) -> Mapping[object, Frozen]:
    """A frozen hash, or an empty one for nil (Kamal's ``config["x"] || {}``)."""
    frozen = freeze(value)
    return frozen if isinstance(frozen, Mapping) else EMPTY


def thaw(value: object) -> object:
    """Plain dicts and lists again (for printing and for handing to code that expects them)."""
    if isinstance(value, Mapping):
        return {key: thaw(item) for key, item in value.items()}
    if isinstance(value, tuple | list):
        return [thaw(item) for item in value]
    return value


# Reading frozen values the way Kamal's Ruby reads a YAML hash: wrong types count as absent.


def as_map(value: Frozen) -> Mapping[object, Frozen]:
    return value if isinstance(value, Mapping) else EMPTY


def as_seq(value: Frozen) -> tuple[Frozen, ...]:
    return value if isinstance(value, tuple) else ()


def as_strings(value: Frozen) -> tuple[str, ...]:
    return tuple(ruby_to_s(v) for v in as_seq(value))


def host_entry_name(entry: Frozen) -> str:
    if isinstance(entry, Mapping) and entry:
        return ruby_to_s(next(iter(entry)))
    return ruby_to_s(entry)


def opt_str(value: Frozen) -> str | None:
    return None if value is None else ruby_to_s(value)


def int_or(value: Frozen, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def opt_int(value: Frozen) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
