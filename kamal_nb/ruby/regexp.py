"""Ruby regexps as templates use them (`text[/KEY=(.*)/, 1]`, `gsub(/\\s+/, "")`), run by Python's `re`.

The two engines agree on the everyday syntax; the differences that change a result are translated:
Ruby's `^` and `$` always match at line boundaries (Python's MULTILINE), Ruby's `m` flag is Python's
DOTALL, `\\z` is Python's `\\Z` and Ruby's `\\Z` also matches before a final newline, `\\h` is a hex
digit, and named groups are written `(?<name>...)`. Anything whose meaning differs and is not
translated here (POSIX brackets, `\\G`, `\\p{...}`, `(?i:` inline switches with `m`) is refused rather
than silently run with Python's meaning.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kamal_nb.ruby.runtime import RubyError

_UNSUPPORTED = ("[[:", "\\G", "\\p{", "\\P{", "\\K", "\\R", "\\X", "(?m", "(?-m")


@dataclass(frozen=True)
class Regexp:
    """A Ruby Regexp literal: its source as written and the Python pattern that matches the same."""

    source: str
    pattern: re.Pattern[str]


def compile_regexp(source: str, flags: str) -> Regexp:
    for construct in _UNSUPPORTED:
        if construct in source:
            raise RubyError("NotImplementedError", f"the regexp construct {construct} in /{source}/")
    options = re.MULTILINE
    if "i" in flags:
        options |= re.IGNORECASE
    if "m" in flags:
        options |= re.DOTALL
    if "x" in flags:
        options |= re.VERBOSE
    try:
        return Regexp(source, re.compile(_translate(source), options))
    except re.error as error:
        raise RubyError("RegexpError", f"{error}: /{source}/") from None


def _translate(source: str) -> str:
    out: list[str] = []
    index = 0
    while index < len(source):
        char = source[index]
        if char == "\\" and index + 1 < len(source):
            escaped = source[index + 1]
            out.append(
                {"z": "\\Z", "Z": "(?=\\n?\\Z)", "h": "[0-9a-fA-F]", "H": "[^0-9a-fA-F]"}.get(
                    escaped, source[index : index + 2]
                )
            )
            index += 2
            continue
        if source.startswith("(?<", index) and source[index + 3 : index + 4] not in ("=", "!"):
            out.append("(?P<")
            index += 3
            continue
        out.append(char)
        index += 1
    return "".join(out)


def expand_replacement(replacement: str, match: re.Match[str]) -> str:
    """Ruby's replacement string of `sub`/`gsub`: `\\0` `\\&` whole match, `\\1`..`\\9` groups,
    `\\k<name>` a named group, `\\\\` a backslash; an unmatched group gives ""."""
    out: list[str] = []
    index = 0
    while index < len(replacement):
        char = replacement[index]
        if char != "\\" or index + 1 >= len(replacement):
            out.append(char)
            index += 1
            continue
        escaped = replacement[index + 1]
        if escaped.isdigit():
            number = int(escaped)
            out.append((match.group(number) or "") if number <= (match.re.groups or 0) else "")
            index += 2
        elif escaped == "&":
            out.append(match.group(0))
            index += 2
        elif escaped == "k" and replacement.startswith("<", index + 2) and ">" in replacement[index + 3 :]:
            end = replacement.index(">", index + 3)
            out.append(match.group(replacement[index + 3 : end]) or "")
            index = end + 1
        elif escaped == "\\":
            out.append("\\")
            index += 2
        else:
            out.append(char + escaped)
            index += 2
    return "".join(out)
