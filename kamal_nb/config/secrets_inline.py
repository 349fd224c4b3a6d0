"""The words of a `$(kamal secrets fetch|extract ...)` substitution inside a secrets file.

Kamal runs that substitution in-process (`Kamal::Cli::Main.start(words + ["--inline"])`), so its
whole option set is accepted there: the two commands' own options and Kamal's global options (read
and ignored, as they change nothing for these two commands). This small parser knows exactly those,
so that the configuration layer never reaches up into the command line's tree.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import NoReturn

from kamal_nb.config.errors import ConfigError


@dataclass(frozen=True)
class InlineCommand:
    """`secrets fetch` (names, adapter, account, from) or `secrets extract` (name, document)."""

    command: str  # "fetch" or "extract"
    secrets: tuple[str, ...] = ()
    adapter: str = ""
    account: str | None = None
    from_: str | None = None
    name: str = ""
    document: str = ""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise ConfigError(f"kamal {self.prog}: {message}")

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise ConfigError(f"kamal {self.prog}: {message or 'asks for help inside a secrets file'}".strip())


def _with_global_options(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    for flag in (
        "-v/--verbose",
        "-q/--quiet",
        "-p/--primary",
        "-H/--skip-hooks",
        "--lock-wait",
        "--inline",
        "--reveal",
    ):
        parser.add_argument(*flag.split("/"), action="store_true")
    for option in ("--version", "-c/--config-file", "-d/--destination", "--lock-wait-timeout", "--lock-wait-interval"):
        parser.add_argument(*option.split("/"))
    parser.add_argument("-h", "--hosts", action="append")
    parser.add_argument("-r", "--roles", action="append")
    parser.add_argument("--help", action="store_true", dest="asked_help")
    return parser


def parse(words: list[str]) -> InlineCommand:
    """`words` after "kamal": ["secrets", "fetch"|"extract", ...]; anything else is a ConfigError."""
    if words[:2] not in (["secrets", "fetch"], ["secrets", "extract"]):
        if len(words) >= 2 and words[0] == "secrets":
            raise ConfigError(f"`kamal secrets {words[1]}` cannot be used inside a secrets file")
        raise ConfigError(f"`kamal {' '.join(words)}` is not a kamal secrets command kamal_nb can run")
    command = words[1]
    parser = _with_global_options(_Parser(prog=f"secrets {command}", add_help=False))
    if command == "fetch":
        parser.add_argument("-a", "--adapter", required=True)
        parser.add_argument("--account")
        parser.add_argument("--from", dest="from_")
        parser.add_argument("secrets", nargs="*")
    else:
        parser.add_argument("name")
        parser.add_argument("document")
    args = parser.parse_args(words[2:])
    if args.asked_help:
        raise ConfigError(f"`kamal {' '.join(words)}` asks for help inside a secrets file")
    if command == "fetch":
        return InlineCommand("fetch", tuple(args.secrets), args.adapter, args.account, args.from_)
    return InlineCommand("extract", name=args.name, document=args.document)
