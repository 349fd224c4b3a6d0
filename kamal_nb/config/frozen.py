"""Immutable copies of loaded YAML values, so a Config can be shared and never changes under you."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from kamal_nb.ruby.values import Scalar

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
