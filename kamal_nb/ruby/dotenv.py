"""Secrets files parsed by the rules of Ruby dotenv 3.2 as Kamal 2 runs it (`Dotenv.parse(f, overwrite: true)`).

python-dotenv is not a substitute: it has no `$(command)` substitution, expands only `${VAR}`, and
quotes differently. This module ports the behaviour of dotenv's parser (a line regex scanned over the
whole file, so lines it does not recognise are silently skipped, exactly as in Ruby) and of its two
substitutions, with Kamal's replacement for the command one:

1. the value is stripped and unquoted; double-quoted values get dotenv 3's newline handling;
2. unless single-quoted, `\\x` becomes `x` for every x but `$`, then
3. `$(cmd)` runs through the shell (Kamal's version: `\\(` `\\)` inside do not count as parentheses,
   and `kamal secrets ...` runs in-process instead of in a shell), then
4. `$VAR` / `${VAR}` take earlier keys of the same file, then the environment, else "".

Each file is parsed on its own: keys of `.kamal/secrets-common` are not visible to `$VAR` in
`.kamal/secrets` (unless they are also in the environment), as in Kamal.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from kamal_nb.ruby.errors import ConfigError
from kamal_nb.ruby.file_size import SECRETS_FILE_LIMIT, check_file_size
from kamal_nb.ruby.runtime import RubyError, chomp, run_backtick, shellsplit, strip
from kamal_nb.ruby.strings import inspect

# dotenv's LINE regex. Ruby's ^ and $ are always line anchors and its \w \s are ASCII, hence
# MULTILINE | ASCII. `\s` also matches "\n", so leading/trailing blank lines join a match.
_LINE = re.compile(
    r"""
    (?:^|\A)
    \s*
    (?P<export>export\s+)?
    (?P<key>[\w.]+)
    (?:
      (?:\s*=\s*?|:\s+?)
      (?P<value>
        \s*'(?:\\'|[^'])*'
        |
        \s*"(?:\\"|[^"])*"
        |
        [^\#\n]+
      )?
    )?
    \s*
    (?:\#.*)?
    (?:$|\Z)
    """,
    re.VERBOSE | re.MULTILINE | re.ASCII,
)
_QUOTED = re.compile(r"""\A(['"])(.*)\1\Z""", re.DOTALL)
_UNESCAPE = re.compile(r"\\([^$])", re.DOTALL)
_VARIABLE = re.compile(r"(\\)?(\$)(?!\()\{?([A-Z0-9_]+)?\}?", re.IGNORECASE | re.ASCII)
_KAMAL_SECRETS_COMMAND = re.compile(r"\A\s*kamal\s*secrets\s+", re.ASCII)


class IgnoredFileError(ConfigError):
    """An Errno::ENOENT raised while parsing: Ruby's `Dotenv.parse` rescues it as if the *file* were
    missing (its `ignore: true` default), so Kamal silently drops every value of that file. A `$(cmd)`
    naming a program that does not exist, with no shell metacharacters, does exactly that. Callers that
    mirror Kamal catch this, skip the file, and keep the message to show as a warning."""


# Runs `kamal secrets ...` words (after "kamal") in-process and returns its inline output.
InlineKamal = Callable[[list[str]], str]


def read_dotenv_text(path: Path, *, display_path: str) -> str:
    """The file's text as dotenv reads it: UTF-8, BOM dropped, CRLF/CR turned into LF (a file over
    the secrets file size limit is refused before it is read)."""
    check_file_size(path, SECRETS_FILE_LIMIT, kind="secrets file", display_path=display_path)
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = raw.count(b"\n", 0, error.start) + 1
        raise ConfigError("invalid byte sequence in UTF-8", path=display_path, line=line) from None
    return re.sub(r"\r\n?", "\n", text)


def parse(
    text: str,
    *,
    path: str,
    env: Mapping[str, str],
    cwd: str | None = None,
    inline_kamal: InlineKamal | None = None,
) -> dict[str, str]:
    """Parse one secrets file's text (already normalised by `read_dotenv_text`) into key -> value.

    `path` is only used in error messages; `env` is the process environment `$VAR` and commands see;
    `cwd` is where `$(commands)` run.
    """
    parser = _Parser(text, path=path, env=env, cwd=cwd, inline_kamal=inline_kamal)
    return parser.parse()


class _Parser:
    def __init__(
        self,
        text: str,
        *,
        path: str,
        env: Mapping[str, str],
        cwd: str | None,
        inline_kamal: InlineKamal | None,
    ) -> None:
        self._text = text
        self._path = path
        self._env = env
        self._cwd = cwd
        self._inline_kamal = inline_kamal
        self._hash: dict[str, str] = {}
        self._line = 1

    def parse(self) -> dict[str, str]:
        for match in _LINE.finditer(self._text):
            key = match.group("key")
            value = match.group("value")
            self._line = self._text.count("\n", 0, match.start("key")) + 1
            if match.group("export") and value is None:
                if key not in self._hash:
                    raise self._error(f"Line {inspect(match.group(0))} has an unset variable")
            else:
                self._hash[key] = self._parse_value(value or "")
        return self._hash

    def _error(self, message: str) -> ConfigError:
        return ConfigError(message, path=self._path, line=self._line)

    def _parse_value(self, raw: str) -> str:
        value = strip(raw)
        quoted = _QUOTED.match(value)
        quote = quoted.group(1) if quoted else None
        if quoted:
            value = quoted.group(2)
        if quote == '"':
            value = self._expand_newlines(value)
        if quote == "'":
            return value
        value = _UNESCAPE.sub(r"\1", value)
        value = self._substitute_commands(value)
        return self._substitute_variables(value)

    def _expand_newlines(self, value: str) -> str:
        mode = self._hash.get("DOTENV_LINEBREAK_MODE") or self._env.get("DOTENV_LINEBREAK_MODE")
        if mode == "legacy":
            return value.replace("\\n", "\n").replace("\\r", "\r")
        # dotenv 3 doubles the backslash, so that the unescape step that follows leaves a literal
        # backslash-n (two characters) rather than a newline.
        return value.replace("\\n", "\\\\n").replace("\\r", "\\\\r")

    def _substitute_variables(self, value: str) -> str:
        def replace(match: re.Match[str]) -> str:
            if match.group(1) == "\\":
                return match.group(0)[1:]
            name = match.group(3)
            if name is None:
                return match.group(0)
            if name in self._hash:
                return self._hash[name]
            return self._env.get(name, "")

        return _VARIABLE.sub(replace, value)

    def _substitute_commands(self, value: str) -> str:
        out: list[str] = []
        position = 0
        while True:
            found = _find_command(value, position)
            if found is None:
                out.append(value[position:])
                return "".join(out)
            start, end, escaped = found
            out.append(value[position:start])
            if escaped:
                # `\$(...)` is left as `$(...)`, untouched (variables in it are still expanded later).
                out.append(value[start + 1 : end])
            else:
                command = self._substitute_variables(value[start + 2 : end - 1])
                out.append(self._run(command))
            position = end

    def _run(self, command: str) -> str:
        if _KAMAL_SECRETS_COMMAND.match(command):
            return self._run_kamal_inline(command)
        try:
            return chomp(run_backtick(command, env=self._env, cwd=self._cwd))
        except RubyError as error:
            message = f"{error.message} ({error.ruby_class}) in $({command})"
            if error.ruby_class == "Errno::ENOENT":
                raise IgnoredFileError(message, path=self._path, line=self._line) from None
            raise self._error(message) from None

    def _run_kamal_inline(self, command: str) -> str:
        if self._inline_kamal is None:
            raise self._error(f"`{command}` cannot run here")
        try:
            words = shellsplit(command)
        except RubyError as error:
            raise self._error(f"{error.message} ({error.ruby_class}) in $({command})") from None
        try:
            return chomp(self._inline_kamal(words[1:]))
        except ConfigError as error:
            raise self._error(error.detail) from None


def _find_command(value: str, start: int) -> tuple[int, int, bool] | None:
    """Leftmost `$(...)` or `\\$(...)` at or after `start`, as Kamal's recursive regex finds it.

    Returns (match start, match end, escaped). Inside the parentheses a backslash escapes the next
    character (but not a newline), `(`/`)` must balance, and no group may be empty: `$(a())` is not
    a command at all, as with the regex.
    """
    index = value.find("$(", start)
    while index != -1:
        end = _balanced_group_end(value, index + 1)
        if end is not None:
            escaped = index > start and value[index - 1] == "\\"
            return (index - 1 if escaped else index, end, escaped)
        index = value.find("$(", index + 1)
    return None


def _balanced_group_end(value: str, open_index: int) -> int | None:
    """End (exclusive) of the group opening at value[open_index] == "(", or None if it does not close."""
    position = open_index + 1
    items = 0
    while position < len(value):
        char = value[position]
        if char == ")":
            return position + 1 if items else None
        if char == "(":
            inner_end = _balanced_group_end(value, position)
            if inner_end is None:
                return None
            position = inner_end
        elif char == "\\":
            if position + 1 >= len(value) or value[position + 1] == "\n":
                return None
            position += 2
        else:
            position += 1
        items += 1
    return None
