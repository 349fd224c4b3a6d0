"""The few pieces of Ruby's runtime that ERB templates and dotenv files observe.

Kamal evaluates deploy.yml templates and secrets files inside Ruby, so what a user sees depends on
Ruby's own rules: how a backtick decides between the shell and a direct exec (and raises
`Errno::ENOENT` rather than printing "not found"), what `String#chomp`/`#strip` remove, and how
`Shellwords.shellsplit` cuts words. Each function here ports one of those behaviours; none of them
knows about Kamal. (String quoting, `#dump` and `#inspect`, is kamal_nb.ruby.strings.)
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping

from kamal_nb.ruby.strings import inspect


class RubyError(Exception):
    """A Ruby exception the real tool would raise here, as "Class: message"; callers add file/line."""

    def __init__(self, ruby_class: str, message: str) -> None:
        self.ruby_class = ruby_class
        self.message = message
        super().__init__(f"{message} ({ruby_class})")


# Ruby's process.c sends a command string through /bin/sh only when it needs a shell: it contains one
# of these characters, its first word assigns a variable, or its first word is a shell builtin.
# Otherwise the words are exec'd directly, and a missing program raises Errno::ENOENT instead of the
# shell's "not found" with empty output.
_SHELL_META = set("*?{}[]<>()~&|\\$;'`\"\n#")
_POSIX_SH_COMMANDS = frozenset(
    [
        "!",
        ".",
        ":",
        "break",
        "case",
        "continue",
        "do",
        "done",
        "elif",
        "else",
        "esac",
        "eval",
        "exec",
        "exit",
        "export",
        "fi",
        "for",
        "if",
        "in",
        "readonly",
        "return",
        "set",
        "shift",
        "then",
        "times",
        "trap",
        "unset",
        "until",
        "while",
    ]
)


def _needs_shell(command: str) -> bool:
    first_word = re.match(r"[ \t]*([^ \t]*)", command)
    word = first_word.group(1) if first_word else ""
    if any(char in _SHELL_META for char in command):
        return True
    if "=" in word.split("/", 1)[0]:
        return True
    return word in _POSIX_SH_COMMANDS


def run_backtick(command: str, *, env: Mapping[str, str], cwd: str | None) -> str:
    """Ruby's `` `command` ``: stdout as text, exit status ignored, stderr left to the terminal.

    stdin is closed (not inherited): a notebook or a headless run must never hang on a prompt.
    """
    return backtick(command, env=env, cwd=cwd)[0]


def backtick(
    command: str, *, env: Mapping[str, str], cwd: str | None, stdin: int | None = subprocess.DEVNULL
) -> tuple[str, int]:
    """Ruby's `` `command` `` with ``$?``: stdout as text and the exit status (Kamal's secret adapters
    check ``$?.success?``). ``stdin=None`` inherits it, for a vault CLI that prompts in a terminal."""
    if _needs_shell(command):
        argv = ["/bin/sh", "-c", command]
    else:
        argv = command.split()
        if not argv:
            raise RubyError("Errno::ENOENT", f"No such file or directory - {command}")
    try:
        completed = subprocess.run(argv, env=dict(env), cwd=cwd, stdout=subprocess.PIPE, stdin=stdin, check=False)
    except (FileNotFoundError, NotADirectoryError):
        raise RubyError("Errno::ENOENT", f"No such file or directory - {argv[0]}") from None
    except PermissionError:
        raise RubyError("Errno::EACCES", f"Permission denied - {argv[0]}") from None
    try:
        return completed.stdout.decode("utf-8"), completed.returncode
    except UnicodeDecodeError:
        # Ruby would carry the broken bytes on into YAML or the env file; refusing is the honest option.
        raise RubyError("ArgumentError", f"output of `{command}` is not valid UTF-8") from None


def chomp(text: str) -> str:
    """Ruby `String#chomp`: drop one trailing "\\r\\n", "\\n" or "\\r"."""
    if text.endswith("\r\n"):
        return text[:-2]
    if text.endswith(("\n", "\r")):
        return text[:-1]
    return text


# Ruby's String#strip removes NUL as well as ASCII whitespace (and nothing Unicode).
_RUBY_WHITESPACE = "\0\t\n\v\f\r "


def strip(text: str) -> str:
    return text.strip(_RUBY_WHITESPACE)


# Ruby's Shellwords.shellsplit as in Ruby 3.3 (the Ruby of the packaged Kamal): one regex applied
# repeatedly at the current position.
_SHELLWORD = re.compile(
    r"""\s*(?>([^\s\\'"]+)|'([^']*)'|"((?:[^"\\]|\\.)*)"|(\\.?)|(\S))(\s|\Z)?""",
    re.DOTALL | re.ASCII,
)
_DQ_ESCAPE = re.compile(r"""\\([$`"\\\n])""")
_BARE_ESCAPE = re.compile(r"\\(.)")


def shellsplit(line: str) -> list[str]:
    """Ruby `String#shellsplit`; raises RubyError(ArgumentError) on an unmatched quote."""
    words: list[str] = []
    field = ""
    position = 0
    while position < len(line):
        match = _SHELLWORD.match(line, position)
        if match is None or match.end() == position:
            break
        word, single, double, escape, garbage, separator = match.groups()
        if garbage is not None:
            raise RubyError("ArgumentError", f"Unmatched quote: {inspect(line)}")
        if word is not None:
            field += word
        elif single is not None:
            field += single
        elif double is not None:
            field += _DQ_ESCAPE.sub(r"\1", double)
        elif escape is not None:
            field += _BARE_ESCAPE.sub(r"\1", escape)
        if separator is not None:
            words.append(field)
            field = ""
        position = match.end()
    return words
