"""Ruby's ``JSON.parse`` and ``JSON.dump`` as Kamal's secrets commands use them.

``kamal secrets fetch`` prints ``JSON.dump(results)``; users pipe that text into
``kamal secrets extract`` or compare it, so the bytes matter. Ruby's generator writes no spaces,
keeps non-ASCII text and ``/`` as they are, escapes control characters as ``\\b \\f \\n \\r \\t`` or
``\\u001f`` (lowercase hex), exactly as Python's ``json`` with ``ensure_ascii=False`` and compact
separators. Floats are the exception: Ruby writes ``Float#to_s`` (``1.0e+16``, Python ``1e+16``).
Ruby's parser also refuses ``NaN`` and ``Infinity``, which Python would accept.
"""

from __future__ import annotations

import json
import math
from typing import Any


class RubyJSONError(ValueError):
    """Text Ruby's ``JSON.parse`` would refuse, or a value ``JSON.dump`` cannot write."""


def parse(text: str) -> Any:
    """``JSON.parse(text)``; raises RubyJSONError where Ruby raises ``JSON::ParserError``."""

    def refuse(constant: str) -> Any:
        raise RubyJSONError(f"unexpected token '{constant}'")

    try:
        return json.loads(text, parse_constant=refuse)
    except json.JSONDecodeError as error:
        raise RubyJSONError(f"{error.msg} at line {error.lineno} column {error.colno}") from None


def dump(value: Any) -> str:
    """``JSON.dump(value)`` for what JSON.parse produces (hashes, arrays, strings, numbers, nil, booleans)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return float_to_s(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{dump(to_s(key))}:{dump(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(dump(item) for item in value) + "]"
    raise RubyJSONError(f"cannot write a {type(value).__name__} as JSON")


def to_s(value: Any) -> str:
    """``to_s`` of a parsed JSON value, as when it becomes a hash key (nil is "", true is "true")."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return float_to_s(value)
    if isinstance(value, str | int):
        return str(value)
    return dump(value)


def float_to_s(value: float) -> str:
    """Ruby ``Float#to_s``: the shortest round-trip digits, as Python's ``repr``, but an exponent's
    mantissa always has a fraction (``1.0e+16``) and a whole number ends in ``.0``."""
    if not math.isfinite(value):
        # JSON::GeneratorError in Ruby (allow_nan is off)
        raise RubyJSONError(f"{value} not allowed in JSON")
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{exponent}"
    return text
