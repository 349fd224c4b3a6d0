"""The few Ruby value semantics Kamal's configuration code relies on, for values loaded from YAML.

Kamal reads deploy.yml with Psych and reasons about it with Ruby/ActiveSupport idioms (``present?``,
``blank?``, truthiness, ``to_s``, ``deep_merge``). Messages and decisions depend on them, so the
validator and the model use these helpers instead of Python's own truthiness or ``str()``.
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RubySymbol:
    """A Ruby Symbol (``:verbose`` in YAML). Deliberately not a ``str``: ``:user`` is not ``"user"`` as a key."""

    name: str

    def __str__(self) -> str:
        return self.name


# A value as Psych produces it from YAML (after our loader): scalars, lists and dicts.
Scalar = str | int | float | bool | None | RubySymbol | datetime.date | datetime.datetime

_BLANK_STRING = re.compile(r"\A[\s]*\Z")


def is_blank(value: object) -> bool:
    """ActiveSupport ``blank?``: nil, false, whitespace-only strings and empty collections."""
    if value is None or value is False:
        return True
    if isinstance(value, str):
        return bool(_BLANK_STRING.match(value))
    if isinstance(value, RubySymbol):
        return value.name == ""
    if isinstance(value, list | tuple | dict | Mapping):
        return len(value) == 0
    return False


def is_present(value: object) -> bool:
    return not is_blank(value)


def is_truthy(value: object) -> bool:
    """Ruby truthiness: only nil and false are false (``0``, ``""`` and ``{}`` are true)."""
    return value is not None and value is not False


def is_stringish(value: object) -> bool:
    """Kamal accepts Symbol, Numeric, true and false wherever the example document has a string."""
    return isinstance(value, str | RubySymbol | int | float)  # bool is an int in Python


def ruby_to_s(value: object) -> str:
    """Ruby ``to_s`` as used in messages and keys (``nil`` is empty, ``true`` is ``true``)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return ruby_float_to_s(value)
    return str(value)


def ruby_float_to_s(value: float) -> str:
    """Ruby ``Float#to_s``: ``0.5``, ``1000.0``, ``1.0e+20``, ``Infinity``, ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    text = repr(value)
    if "e" in text or "E" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        sign = "-" if exponent.startswith("-") else "+"
        return f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
    # Ruby switches to exponent notation from 1e16 up, Python from 1e16 too: repr covers that.
    return text


def deep_merge(base: dict[object, object], other: Mapping[object, object]) -> dict[object, object]:
    """ActiveSupport ``deep_merge``: hashes merge recursively, everything else (arrays too) is replaced."""
    merged = dict(base)
    for key, value in other.items():
        current = merged.get(key)
        if isinstance(current, dict) and isinstance(value, dict):
            merged[key] = deep_merge(current, value)
        else:
            merged[key] = value
    return merged
