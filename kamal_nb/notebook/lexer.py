"""Split a ``%kamal`` line into words, expanding ``{name}`` from the user's namespace.

Shell-like words: whitespace separates them, ``'...'`` and ``"..."`` quote, a backslash escapes
the next character, and ``#`` at the start of a word begins a comment. ``{name}`` (or a dotted
``{name.attr}``) outside quotes is replaced by the variable's value, inside the word it appears in
(never split into more words). Inside quotes nothing is expanded: a quoted remote command such as
``server exec 'echo {x} $HOME'`` reaches the hosts exactly as written. ``{{`` and ``}}`` outside
quotes are literal braces. A list or tuple value becomes a comma list (``-h {hosts}``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_NAME = re.compile(r"\{([A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*)\}")


class LexError(ValueError):
    """A line that cannot be split or expanded; the message is one line."""


def split(line: str, namespace: Mapping[str, Any] | None = None) -> list[str]:
    """Words of ``line``; ``{name}`` outside quotes is expanded when ``namespace`` is given."""
    words: list[str] = []
    word: list[str] = []
    in_word = False
    i, n = 0, len(line)
    while i < n:
        char = line[i]
        if char.isspace():
            if in_word:
                words.append("".join(word))
                word, in_word = [], False
            i += 1
        elif char == "#" and not in_word:
            break
        elif char == "'":
            end = line.find("'", i + 1)
            if end < 0:
                raise LexError("no closing quotation (')")
            word.append(line[i + 1 : end])
            in_word, i = True, end + 1
        elif char == '"':
            i, text = _double_quoted(line, i + 1)
            word.append(text)
            in_word = True
        elif char == "\\":
            if i + 1 < n:
                word.append(line[i + 1])
            in_word, i = True, i + 2
        elif char == "{" and namespace is not None:
            if line.startswith("{{", i):
                word.append("{")
                i += 2
            else:
                match = _NAME.match(line, i)
                if match is None:
                    word.append(char)
                    i += 1
                else:
                    word.append(_value(match.group(1), namespace))
                    i = match.end()
            in_word = True
        elif char == "}" and namespace is not None and line.startswith("}}", i):
            word.append("}")
            in_word, i = True, i + 2
        else:
            word.append(char)
            in_word, i = True, i + 1
    if in_word:
        words.append("".join(word))
    return words


def _double_quoted(line: str, i: int) -> tuple[int, str]:
    out: list[str] = []
    while i < len(line):
        char = line[i]
        if char == '"':
            return i + 1, "".join(out)
        if char == "\\" and i + 1 < len(line) and line[i + 1] in '"\\$`\n':
            out.append(line[i + 1])
            i += 2
            continue
        out.append(char)
        i += 1
    raise LexError('no closing quotation (")')


def _value(dotted: str, namespace: Mapping[str, Any]) -> str:
    first, *attrs = dotted.split(".")
    if first not in namespace:
        raise LexError(f"{{{dotted}}}: name '{first}' is not defined")
    value = namespace[first]
    for attr in attrs:
        try:
            value = getattr(value, attr)
        except AttributeError:
            raise LexError(f"{{{dotted}}}: {type(value).__name__} has no attribute '{attr}'") from None
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(str(v) for v in value)
    return str(value)
