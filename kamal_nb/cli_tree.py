"""One argparse command tree for Kamal 2.12's command line, shared by ``%kamal`` and ``kamal-nb``.

The tree mirrors ``lib/kamal/cli/*.rb`` (basecamp/kamal v2.12.0): every command and subcommand with
its options (hidden ones too, hidden from help as in Kamal), and the global options every command
accepts (Kamal's ``class_option``s), written after the command as in Kamal::

    deploy --version v7 -d staging -r web -y
    app logs -n 50 -g 'GET /up' -h web-1
    plan rollback v6                 # kamal_nb: the operation's plan; nothing runs
    help app logs                    # help for one command

``-h`` is ``--hosts`` (as in Kamal), so help is ``--help``. ``-y/--yes`` (Kamal's ``--confirmed``)
is accepted by every command that changes hosts or local files. Parsing gives an
:class:`Invocation`: the command path, the global options that were given, and the command's own
arguments as a dict keyed by Kamal's option names (``skip_push``, ``lines``, ``since``...), with
Kamal's defaults; positional arguments are keyed by their lowercase name (``version``, ``name``,
``section``); trailing remote commands (``app exec``, ``server exec``, ``accessory exec``) are one
string, ``cmd``, joined as Kamal joins them.

The tree itself (commands, options, help texts) is data, in kamal_nb.cli_commands; this module builds
the parser from it and parses. Importing it is cheap: argparse and dataclasses only. Nothing here
runs anything.
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NoReturn

from kamal_nb.cli_commands import GLOBAL_DESTS, GLOBAL_OPTIONS, TREE, Command, Opt
from kamal_nb.ops.options import GlobalOptions

PREFIXES = ("plan", "help")  # kamal_nb words before a command
_TOP_LEVEL = frozenset(c.name for c in TREE.subcommands)


# -- results of parsing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Invocation:
    """A parsed command line: what to run, with which global options and arguments."""

    path: tuple[str, ...]
    args: Mapping[str, Any]
    given: Mapping[str, Any] = field(default_factory=dict)  # the global options written on the line
    yes: bool = False
    plan: bool = False  # `plan ...`: only the plan, nothing runs

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def options(self, defaults: Mapping[str, Any] | None = None) -> GlobalOptions:
        """The global options: those given on the line, else ``defaults`` (same keys), else Kamal's."""
        values = {**(defaults or {}), **self.given}
        values = {k: v for k, v in values.items() if v is not None}
        for key in ("roles", "hosts"):
            if key in values:
                values[key] = GlobalOptions.split_list(values[key])
        return GlobalOptions(**values)


class ParseError(Exception):
    """Bad arguments. ``str()`` is one line; ``usage`` is the usage of the command concerned."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class HelpRequested(Exception):
    """``--help``, ``help COMMAND``, a command group without a subcommand, or ``--version``."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


# -- building the argparse tree ------------------------------------------------------------------


class KamalArgumentParser(argparse.ArgumentParser):
    """Never prints, never exits: errors raise :class:`ParseError`, help raises :class:`HelpRequested`."""

    def error(self, message: str) -> NoReturn:
        choice = re.match(r"argument (\w+): invalid choice: '([^']*)'", message)
        if choice is not None and self._subparsers is not None:
            word = choice.group(2)
            names = _visible_names(self)
            hint = difflib.get_close_matches(word, names, n=1)
            prefix = self.prog.split(" ", 1)[1] + " " if " " in self.prog else ""
            message = f"unknown command '{prefix}{word}'" + (f"; did you mean '{prefix}{hint[0]}'?" if hint else "")
            message += f" (commands: {', '.join(names)})"
        raise ParseError(f"{self.prog}: {message}", self.format_usage())

    def exit(self, status: int = 0, message: str | None = None) -> NoReturn:
        raise ParseError(message or f"{self.prog}: exited with status {status}", self.format_usage())


def _visible_names(parser: argparse.ArgumentParser) -> list[str]:
    visible: list[str] = getattr(parser, "_kamal_visible", [])
    return visible


class _HelpAction(argparse.Action):
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS, **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        raise HelpRequested(parser.format_help())


class _VersionAction(_HelpAction):
    def __call__(self, parser: argparse.ArgumentParser, *_: Any, **__: Any) -> None:
        from kamal_nb.version import KAMAL_COMPAT_VERSION, __version__

        raise HelpRequested(f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})\n")


class _MapAction(argparse.Action):
    """``-e KEY:VALUE`` (repeatable), as Thor's hash options: a dict."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, value: Any, *_: Any) -> None:
        key, sep, val = str(value).partition(":")
        if not sep or not key:
            parser.error(f"{'/'.join(self.option_strings)} expects KEY:VALUE, got {value!r}")
        current = dict(getattr(namespace, self.dest, None) or {})
        current[key] = val
        setattr(namespace, self.dest, current)


def _add_option(parser: argparse._ActionsContainer, opt: Opt, *, suppress_default: bool = False) -> None:
    kwargs: dict[str, Any] = {"dest": opt.dest, "help": argparse.SUPPRESS if opt.hidden else opt.help}
    if opt.kind == "flag":
        kwargs.update(action="store_true")
    elif opt.kind == "negatable":
        kwargs.update(action=argparse.BooleanOptionalAction)
    elif opt.kind == "append":
        kwargs.update(action="append", metavar=opt.metavar or opt.dest.upper())
    elif opt.kind == "list":
        kwargs.update(nargs="+", metavar=opt.metavar or opt.dest.upper())
    elif opt.kind == "map":
        kwargs.update(action=_MapAction, metavar="KEY:VALUE")
    else:
        kwargs.update(type={"str": str, "int": int, "float": float}[opt.kind], metavar=opt.metavar or opt.dest.upper())
        if opt.required:
            kwargs["required"] = True
    kwargs["default"] = argparse.SUPPRESS if suppress_default else opt.default
    parser.add_argument(*opt.flags, **kwargs)


_ARG = "_arg_"


def _add_leaf(parser: argparse.ArgumentParser, command: Command) -> None:
    for arg in command.args:
        # positional dests are prefixed: `rollback VERSION` must not meet the global `--version`
        if arg.rest:
            parser.add_argument(
                f"{_ARG}{arg.name}", nargs="*" if arg.optional else "+", metavar=arg.name.upper(), help=arg.help
            )
        else:
            parser.add_argument(
                f"{_ARG}{arg.name}",
                nargs="?" if arg.optional else None,
                choices=arg.choices,
                metavar=arg.name.upper(),
                help=arg.help,
            )
    own = parser.add_argument_group("options")
    for opt in command.options:
        _add_option(own, opt)
    if command.confirm:
        own.add_argument(
            "-y",
            "--yes",
            "--confirmed",
            dest="yes",
            action="store_true",
            help="Run it: without, only the plan is shown",
        )
    own.add_argument("--help", action=_HelpAction, help="Show this help")
    globals_group = parser.add_argument_group("global options (every command)")
    for opt in GLOBAL_OPTIONS:
        _add_option(globals_group, opt, suppress_default=True)


def _add_commands(parser: KamalArgumentParser, group: Command, path: tuple[str, ...]) -> None:
    sub = parser.add_subparsers(dest=f"_command_{len(path)}", metavar="COMMAND", parser_class=KamalArgumentParser)
    visible: list[str] = []
    for command in group.subcommands:
        description = f"{command.help}. {command.more}" if command.more else command.help
        kwargs: dict[str, Any] = {"description": description, "add_help": False, "allow_abbrev": False}
        if not command.hidden:
            kwargs["help"] = command.help
            visible.append(command.name)
        child = sub.add_parser(command.name, **kwargs)
        if command.subcommands:
            child.add_argument("--help", action=_HelpAction, help="Show this help")
            _add_commands(child, command, (*path, command.name))
        else:
            _add_leaf(child, command)
    setattr(parser, "_kamal_visible", visible)  # noqa: B010 (argparse has no place for it)


def build_parser(prog: str = "kamal-nb", only: str | None = None) -> KamalArgumentParser:
    """The whole tree; ``prog`` names it in usage and errors (``kamal-nb`` or ``%kamal``).

    ``only``: the tree with that one top-level command (parsing a line that starts with it gives
    what the whole tree gives, at a fraction of the cost of building it: `kamal-nb` as a process).
    """
    from kamal_nb.version import KAMAL_COMPAT_VERSION

    parser = KamalArgumentParser(
        prog=prog,
        add_help=False,
        allow_abbrev=False,
        description=(
            "Operate Kamal 2 fleets from Jupyter or a terminal. In a notebook: %load_ext kamal_nb, then %kamal COMMAND."
        ),
        epilog=(
            f"Compatible with Kamal {KAMAL_COMPAT_VERSION}: same deploy.yml, same host commands. "
            f"`{prog} plan COMMAND ...` shows what would run; `{prog} help COMMAND` explains a command; "
            "commands that change hosts need -y/--yes."
        ),
    )
    parser.add_argument("--help", action=_HelpAction, help="Show this help")
    parser.add_argument("--version", action=_VersionAction, help="Show the kamal-nb version and exit")
    tree = (
        TREE
        if only is None
        else dataclasses.replace(TREE, subcommands=tuple(c for c in TREE.subcommands if c.name == only))
    )
    _add_commands(parser, tree, ())
    return parser


@functools.cache
def _cached_parser(prog: str, only: str | None = None) -> KamalArgumentParser:
    return build_parser(prog, only)


# -- parsing -------------------------------------------------------------------------------------


def parse(argv: Sequence[str], prog: str = "kamal-nb", parser: KamalArgumentParser | None = None) -> Invocation:
    """Parse one command line (already split into words).

    Raises :class:`ParseError` on bad arguments and :class:`HelpRequested` when help (or the
    version) was asked for instead of a command.
    """

    def whole() -> KamalArgumentParser:  # the whole tree, built only when needed (help, an unknown command)
        return parser or _cached_parser(prog)

    words = list(argv)
    plan = False
    if words[:1] == ["help"]:
        raise HelpRequested(help_text(words[1:], whole()))
    if words[:1] == ["plan"]:
        plan, words = True, words[1:]
        if not words:
            raise ParseError(
                f"{whole().prog} plan: which command? e.g. `plan deploy --version v7`", whole().format_usage()
            )
    if not words:
        raise HelpRequested(whole().format_help())
    # a line that starts with a command needs only that command's branch of the tree
    parser = parser or (_cached_parser(prog, words[0]) if words[0] in _TOP_LEVEL else whole())
    namespace, extras = parser.parse_known_args(words)
    values = vars(namespace)
    path: list[str] = []
    while f"_command_{len(path)}" in values and values[f"_command_{len(path)}"] is not None:
        path.append(values.pop(f"_command_{len(path)}"))
    command = find(tuple(path))
    leaf = _subparser(parser, tuple(path))
    if command.subcommands:
        raise HelpRequested(leaf.format_help())
    rest = next((a for a in command.args if a.rest and a.name == "cmd"), None)  # a remote command's words
    if extras:
        if rest is None:
            leaf.error(f"unrecognized arguments: {' '.join(extras)}")
        values[_ARG + rest.name] = [*(values.get(_ARG + rest.name) or []), *extras]
    given = {k: values.pop(k) for k in list(values) if k in GLOBAL_DESTS}
    yes = bool(values.pop("yes", False))
    for arg in command.args:
        value = values.pop(_ARG + arg.name, None)
        if arg.rest and arg.name == "cmd":
            values["cmd"] = " ".join(word.strip() for word in value or [])
        elif arg.rest:
            values[arg.name] = tuple(value or ())
        else:
            values[arg.name] = value
    for opt in command.options:
        if opt.kind == "list" and values.get(opt.dest) is not None:
            values[opt.dest] = tuple(values[opt.dest])
        if opt.kind == "append" and values.get(opt.dest) is not None:
            values[opt.dest] = tuple(values[opt.dest])
    return Invocation(tuple(path), values, given, yes, plan)


def find(path: Sequence[str]) -> Command:
    command = TREE
    for word in path:
        matches = [c for c in command.subcommands if c.name == word]
        if not matches:
            raise KeyError(" ".join(path))
        command = matches[0]
    return command


def _subparser(parser: argparse.ArgumentParser, path: Sequence[str]) -> argparse.ArgumentParser:
    current = parser
    for word in path:
        action = next(a for a in current._actions if isinstance(a, argparse._SubParsersAction))
        current = action.choices[word]
    return current


def help_text(path: Sequence[str], parser: KamalArgumentParser | None = None, prog: str = "kamal-nb") -> str:
    """Help for ``help [COMMAND...]`` (``plan`` is skipped: ``help plan deploy`` is deploy's help)."""
    parser = parser or _cached_parser(prog)
    words = [w for w in path if w != "plan"]
    try:
        find(words)
    except KeyError:
        raise ParseError(f"{parser.prog} help: no such command '{' '.join(words)}'", parser.format_usage()) from None
    return _subparser(parser, words).format_help()


def walk(command: Command = TREE, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Command]]:
    """Every command below ``command`` (groups and leaves), depth first, with its path."""
    for child in command.subcommands:
        child_path = (*path, child.name)
        yield child_path, child
        yield from walk(child, child_path)


def command_paths(*, hidden: bool = True, extras: bool = True) -> list[tuple[str, ...]]:
    """The paths of every runnable (leaf) command."""
    return [p for p, c in walk() if not c.subcommands and (hidden or not c.hidden) and (extras or not c.extra)]


def overview(prog: str = "%kamal") -> str:
    """A short list of the commands, for docstrings and ``%kamal?``."""
    lines = []
    for command in TREE.subcommands:
        if command.subcommands:
            subs = ", ".join(c.name for c in command.subcommands if not c.hidden)
            lines.append(f"  {command.name} {{{subs}}}")
        else:
            lines.append(f"  {command.name:<10} {command.help}")
    return "\n".join(lines)
