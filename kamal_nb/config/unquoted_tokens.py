"""The characters a token may hold where Kamal puts it into a shell command unquoted (see
shell_safety.py, which applies these to a whole configuration), and the two checks the configuration
model and the operations also make on their own: the version and the destination."""

from __future__ import annotations

import re

from kamal_nb.config.validation import ValidationError

# What each kind of unquoted token may contain: no whitespace, quotes, `;&|<>()`, backticks, `\`, `*?`.
NAME = re.compile(r"[A-Za-z0-9_.-]+")
HOST = re.compile(r"[A-Za-z0-9_.:@%\[\]-]+")
# Docker's tag grammar (128 characters at most); git commits and `_uncommitted_<hex>` fit it
VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
ENV_KEY = re.compile(r"[A-Za-z0-9_.-]+")
SECRET_KEY = re.compile(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?")
LABEL_KEY = re.compile(r"[A-Za-z0-9_./-]+")
OPTION_KEY = re.compile(r"[A-Za-z0-9_-]+")
VOLUME = re.compile(r"[A-Za-z0-9_.:/@%+=,~${}-]+")
PORT = re.compile(r"[A-Za-z0-9_.:/\[\]-]+")
IMAGE = re.compile(r"[A-Za-z0-9_.:/@-]+")

ALLOWED = {
    NAME: "letters, digits, '_', '.', '-'",
    HOST: "letters, digits and '_.:@%[]-'",
    VERSION: "a Docker tag: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'",
    ENV_KEY: "letters, digits, '_', '.', '-'",
    SECRET_KEY: "letters, digits, '_', '.', '-', and one ':' before an alias",
    LABEL_KEY: "letters, digits and '_./-'",
    OPTION_KEY: "letters, digits, '_', '-'",
    VOLUME: "letters, digits and '_.:/@%+=,~-', '${VAR}'",
    PORT: "letters, digits and '_.:/[]-'",
    IMAGE: "letters, digits and '_.:/@-'",
}


def check_token(value: str, pattern: re.Pattern[str], what: str, key: str) -> None:
    if not pattern.fullmatch(value) or (pattern is VOLUME and "$(" in value):
        raise ValidationError(
            f"{key}: {what} {value!r} would reach the host's shell unquoted (as Kamal sends it), "
            f"so kamal_nb refuses it; allowed: {ALLOWED[pattern]}",
            key=key,
        )


def check_version(version: str) -> None:
    check_token(version, VERSION, "version", "version")


def check_destination(destination: str | None) -> None:
    if destination is not None:
        check_token(destination, NAME, "destination", "destination")
