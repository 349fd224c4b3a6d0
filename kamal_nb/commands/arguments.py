"""Kamal's argv helpers for key/value settings: ``argumentize`` and ``optionize`` (lib/kamal/utils.rb).

Their Ruby quirks are part of the contract, so they are kept: a hash entry is quoted
(``--env K="V"``) but a bare string or list entry is not (``--volume /a:/b``); a blank value gives a
bare key, ``false`` gives ``K=false``; ``true`` options have no value.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, TypeAlias

from kamal_nb.commands.command import Sensitive, Token
from kamal_nb.commands.quoting import escape_shell_value
from kamal_nb.redaction import Secret
from kamal_nb.ruby.values import is_present, ruby_to_s

# A setting value as it comes from the config: YAML scalars, secrets, lists of them.
Value: TypeAlias = object
Attributes: TypeAlias = Mapping[Any, Value] | Iterable[object] | str | int | None


def value_text(value: Value) -> str:
    """Ruby ``to_s`` of a setting value (a Secret gives its real value: the caller marks it sensitive)."""
    if isinstance(value, Secret):
        return value.reveal()
    return ruby_to_s(value)


def escaped(value: Value) -> str:
    return escape_shell_value(value_text(value))


def _pairs(attributes: Attributes) -> list[tuple[object, Value]]:
    """Ruby's ``Array(attributes).flat_map { |key, value| … }`` destructuring."""
    if attributes is None:
        return []
    if isinstance(attributes, str):
        return [(attributes, None)]
    if isinstance(attributes, Mapping):
        return list(attributes.items())
    if not isinstance(attributes, Iterable):
        return [(attributes, None)]  # Ruby's Array(20) is [20]
    pairs: list[tuple[object, Value]] = []
    for item in attributes:
        if isinstance(item, tuple | list):
            pairs.append((item[0] if item else None, item[1] if len(item) > 1 else None))
        else:
            pairs.append((item, None))
    return pairs


def _present(value: Value) -> bool:
    if isinstance(value, Secret):
        return bool(value.reveal().strip())
    return is_present(value)


def argumentize(argument: str, attributes: Attributes, *, sensitive: bool = False) -> list[Token]:
    """``argumentize("--env", {"K": "V"})`` -> ``["--env", 'K="V"']``."""
    args: list[Token] = []
    for key, value in _pairs(attributes):
        name = ruby_to_s(key)
        if _present(value):
            text = f"{name}={escaped(value)}"
            args += [argument, Sensitive(text, f"{name}=[REDACTED]") if sensitive else text]
        elif value is False:
            args += [argument, f"{name}=false"]
        else:
            args += [argument, name]
    return args


def flatten_args(args: Mapping[Any, Value]) -> list[tuple[object, Value]]:
    """One ``(key, value)`` per list entry: ``{host: [a, b]}`` -> ``(host, a), (host, b)``."""
    flat: list[tuple[object, Value]] = []
    for key, value in args.items():
        if isinstance(value, tuple | list):
            flat += [(key, entry) for entry in value]
        else:
            flat.append((key, value))
    return flat


def optionize(args: Mapping[Any, Value], *, with_: str | None = None, escape: bool = True) -> list[Token]:
    """``optionize({"memory": "2g", "cap-add": True})`` -> ``--memory "2g" --cap-add``;
    with ``with_="="``: ``--memory="2g"``."""
    options: list[Token] = []
    for key, value in flatten_args(args):
        flag = f"--{ruby_to_s(key)}"
        if value is True:
            options.append(flag)
            continue
        text = escaped(value) if escape else value_text(value)
        if with_ is not None:
            options.append(f"{flag}{with_}{text}")
        else:
            options += [flag, text]
    return options
