"""String, Array and Hash methods with Ruby's results, for the built-in evaluator.

`split` (awk-style on whitespace, a string or a regexp; trailing empty fields dropped), `[]` (an index,
index and length, a substring, a regexp with an optional capture), `sub`/`gsub` (string or regexp
pattern, Ruby's `\\1` replacement syntax), `length`/`size`, `lines`, and on arrays and hashes
`first`, `last`, `join`, `[]`, `fetch`, `compact`, `empty?`, `include?`. The methods shared by every
value (`to_s`, `strip`, `present?`...) stay in evaluator.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kamal_nb.ruby.regexp import Regexp, expand_replacement
from kamal_nb.ruby.runtime import RubyError
from kamal_nb.ruby.stdlib import Value, unsupported
from kamal_nb.ruby.strings import inspect
from kamal_nb.ruby.values import ruby_float_to_s

Method = Callable[[Value, list[object]], Value]


def inspect_value(value: object) -> str:
    """Ruby `inspect` of a template value (Array#to_s is its inspect)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return inspect(value)
    if isinstance(value, float):
        return ruby_float_to_s(value)
    if isinstance(value, list):
        return "[" + ", ".join(inspect_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{inspect_value(k)} => {inspect_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _split(text: str, args: list[object]) -> Value:
    if len(args) > 1:
        raise unsupported("String#split with a limit")
    separator = args[0] if args else None
    if separator is None or separator == " ":
        words: list[Value] = list(text.split())
        return words
    if isinstance(separator, str):
        fields = list(text) if separator == "" else text.split(separator)
    elif isinstance(separator, Regexp):
        fields = [part or "" for part in separator.pattern.split(text)]
        leading = separator.pattern.match(text)
        if fields and fields[0] == "" and leading is not None and leading.group(0) == "" and text:
            fields = fields[1:]  # Ruby drops the empty field before a zero-width match at the start
    else:
        raise RubyError("TypeError", "wrong argument type (expected Regexp)")
    while fields and fields[-1] == "":
        fields.pop()
    result: list[Value] = list(fields)
    return result


def _string_index(text: str, args: list[object]) -> Value:
    first = args[0] if args else None
    if len(args) == 1 and isinstance(first, int) and not isinstance(first, bool):
        index = first + len(text) if first < 0 else first
        return text[index] if 0 <= index < len(text) else None
    if len(args) == 2 and isinstance(first, int) and isinstance(args[1], int):
        start = first + len(text) if first < 0 else first
        if start < 0 or start > len(text) or args[1] < 0:
            return None
        return text[start : start + args[1]]
    if len(args) == 1 and isinstance(first, str):
        return first if first in text else None
    if 1 <= len(args) <= 2 and isinstance(first, Regexp):
        match = first.pattern.search(text)
        if match is None:
            return None
        group = args[1] if len(args) == 2 else 0
        if not isinstance(group, int | str) or isinstance(group, bool):
            raise RubyError("TypeError", "no implicit conversion into Integer")
        try:
            return match.group(group)
        except IndexError:
            return None
    raise unsupported("String#[] with these arguments")


def _substitute(count: int) -> Callable[[str, list[object]], Value]:
    def substitute(text: str, args: list[object]) -> Value:
        if len(args) != 2 or not isinstance(args[1], str):
            raise unsupported("sub/gsub without a replacement string (a hash or a block)")
        pattern, replacement = args[0], args[1]
        if isinstance(pattern, str):
            compiled = re.compile(re.escape(pattern))
        elif isinstance(pattern, Regexp):
            compiled = pattern.pattern
        else:
            raise RubyError("TypeError", "wrong argument type (expected Regexp)")
        return compiled.sub(lambda match: expand_replacement(replacement, match), text, count=count)

    return substitute


_STRING_METHODS: dict[str, Callable[[str, list[object]], Value]] = {
    "split": _split,
    "[]": _string_index,
    "slice": _string_index,
    "sub": _substitute(1),
    "gsub": _substitute(0),
    "length": lambda text, args: len(text),
    "size": lambda text, args: len(text),
    "lines": lambda text, args: list(text.splitlines(keepends=True)),
    "squeeze": lambda text, args: re.sub(r"(.)\1+", r"\1", text, flags=re.DOTALL),
}


def _sequence_index(items: list[Value], args: list[object]) -> Value:
    if len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
        index = args[0] + len(items) if args[0] < 0 else args[0]
        return items[index] if 0 <= index < len(items) else None
    raise unsupported("Array#[] with these arguments")


def _join(items: list[Value], args: list[object]) -> Value:
    separator = args[0] if args else ""
    if not isinstance(separator, str):
        raise RubyError("TypeError", "no implicit conversion into String")
    return separator.join(
        item if isinstance(item, str) else "" if item is None else inspect_value(item) for item in items
    )


_ARRAY_METHODS: dict[str, Callable[[list[Value], list[object]], Value]] = {
    "[]": _sequence_index,
    "first": lambda items, args: items[0] if items else None,
    "last": lambda items, args: items[-1] if items else None,
    "join": _join,
    "compact": lambda items, args: [item for item in items if item is not None],
    "length": lambda items, args: len(items),
    "size": lambda items, args: len(items),
    "empty?": lambda items, args: not items,
    "include?": lambda items, args: len(args) == 1 and args[0] in items,
}


def _hash_fetch(mapping: dict[str, Value], args: list[object]) -> Value:
    key = args[0] if args else None
    if isinstance(key, str) and key in mapping:
        return mapping[key]
    if len(args) == 2:
        value = args[1]
        return value if isinstance(value, str | int | bool) or value is None else None
    raise RubyError("KeyError", f"key not found: {inspect_value(key)}")


_HASH_METHODS: dict[str, Callable[[dict[str, Value], list[object]], Value]] = {
    "[]": lambda mapping, args: mapping.get(args[0]) if len(args) == 1 and isinstance(args[0], str) else None,
    "fetch": _hash_fetch,
    "key?": lambda mapping, args: len(args) == 1 and args[0] in mapping,
    "keys": lambda mapping, args: list(mapping),
    "empty?": lambda mapping, args: not mapping,
    "length": lambda mapping, args: len(mapping),
    "size": lambda mapping, args: len(mapping),
}


def collection_method(receiver: object, name: str, args: list[object]) -> tuple[bool, Value]:
    """(True, result) when `name` is one of these methods for the receiver's class, else (False, None)."""
    if isinstance(receiver, str) and name in _STRING_METHODS:
        return True, _STRING_METHODS[name](receiver, args)
    if isinstance(receiver, list) and name in _ARRAY_METHODS:
        return True, _ARRAY_METHODS[name](receiver, args)
    if isinstance(receiver, dict) and name in _HASH_METHODS:
        return True, _HASH_METHODS[name](receiver, args)
    return False, None
