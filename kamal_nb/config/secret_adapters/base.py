"""What every secret adapter shares (``Kamal::Secrets::Adapters::Base``): the account check, then
``check_dependencies!``, ``login`` and ``fetch_secrets``, each vault CLI run as Ruby's backticks run
it, with ``$?`` checked where Kamal checks it.

The command strings are Kamal's, byte for byte (quoting included): a stand-in CLI on PATH or a
recording shell sees what the real tool would have been given.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from kamal_nb.config.errors import ConfigError
from kamal_nb.ruby import json_text as ruby_json
from kamal_nb.ruby.runtime import RubyError, backtick
from kamal_nb.ruby.strings import escape_shell_value, inspect, shellescape
from kamal_nb.ruby.values import is_blank


class AdapterError(ConfigError):
    """What Kamal raises (a RuntimeError) when fetching fails: the CLI is missing, login failed, a
    secret was not found. The message is Kamal's."""


@dataclass
class Shell:
    """Runs commands as Ruby's backticks do, in ``env`` and ``cwd``; ``status`` is ``$?`` of the last.

    ``interactive`` lets the vault CLI read the terminal (``kamal-nb secrets fetch`` in a shell, where
    ``op signin`` or ``lpass login`` may prompt); elsewhere stdin is closed so nothing can hang.
    ``commands`` records every command string run, in order.
    """

    env: Mapping[str, str] | None = None
    cwd: str | None = None
    interactive: bool = False
    commands: list[str] = field(default_factory=list)
    status: int = 0
    runner: Callable[[str], tuple[str, int]] | None = None  # replaces the process (tests, dry runs)

    def __call__(self, command: str) -> str:
        self.commands.append(command)
        if self.runner is not None:
            output, self.status = self.runner(command)
            return output
        env = dict(os.environ) if self.env is None else self.env
        stdin = None if self.interactive else subprocess.DEVNULL
        try:
            output, self.status = backtick(command, env=env, cwd=self.cwd, stdin=stdin)
        except RubyError as error:
            raise AdapterError(f"{error.message} ({error.ruby_class})") from None
        return output

    @property
    def success(self) -> bool:
        return self.status == 0

    def getenv(self, name: str) -> str | None:
        return (os.environ if self.env is None else self.env).get(name)


class Adapter:
    """One vault. ``fetch`` returns what ``kamal secrets fetch`` prints as JSON: name -> value."""

    name: ClassVar[str]
    requires_account: ClassVar[bool] = True

    def __init__(self, shell: Shell) -> None:
        self.sh = shell

    def fetch(self, secrets: list[str], *, account: str | None = None, from_: str | None = None) -> dict[str, Any]:
        if self.requires_account and is_blank(account):
            raise AdapterError("Missing required option '--account'")
        self.check_dependencies()
        session = self.login(account)
        return self.fetch_secrets(list(secrets), from_=from_, account=account, session=session)

    def check_dependencies(self) -> None:
        raise NotImplementedError

    def login(self, account: str | None) -> Any:
        raise NotImplementedError

    def fetch_secrets(
        self, secrets: list[str], *, from_: str | None, account: str | None, session: Any
    ) -> dict[str, Any]:
        raise NotImplementedError

    # -- helpers every adapter uses -------------------------------------------------------------

    def cli_installed(self, command: str) -> bool:
        self.sh(f"{command} 2> /dev/null")
        return self.sh.success

    def parse(self, text: str, command: str) -> Any:
        try:
            return ruby_json.parse(text)
        except ruby_json.RubyJSONError as error:
            # Kamal stops with JSON::ParserError; the output itself is not repeated (it may hold secrets)
            raise AdapterError(f"unexpected output from `{command}` (not JSON: {error})") from None


def prefixed_secrets(secrets: list[str], from_: str | None) -> list[str]:
    """``[from, secret].compact.join("/")``."""
    return [secret if from_ is None else f"{from_}/{secret}" for secret in secrets]


def ruby_split(text: str, separator: str) -> list[str]:
    """Ruby ``String#split(separator)``: trailing empty fields are dropped (``"a/b/".split("/")`` is
    ``["a", "b"]``, ``"".split("/")`` is ``[]``)."""
    parts = text.split(separator)
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def ruby_array(values: list[str]) -> str:
    """A Ruby array of strings interpolated into a message: ``["a", "b"]``."""
    return "[" + ", ".join(inspect(value) for value in values) + "]"


def escape(value: str) -> str:
    """``String#shellescape``."""
    return shellescape(value)


def to_options(options: Mapping[str, str | bool | None]) -> str:
    """``optionize(options.compact).join(" ")``: ``--key "value"`` (Kamal's escaping) or ``--flag``."""
    words: list[str] = []
    for key, value in options.items():
        if value is None:
            continue
        words += [f"--{key}"] if value is True else [f"--{key}", escape_shell_value(str(value))]
    return " ".join(words)


def presence(value: str | None) -> str | None:
    """ActiveSupport ``presence``: the value, or None when blank."""
    return None if value is None or is_blank(value) else value
