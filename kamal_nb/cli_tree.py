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

Importing this module is cheap: argparse and dataclasses only. Nothing here runs anything.
"""

from __future__ import annotations

import argparse
import difflib
import functools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn

from kamal_nb.ops.options import DEFAULT_CONFIG_FILE, GlobalOptions

OptKind = Literal["flag", "negatable", "str", "int", "float", "append", "list", "map"]


@dataclass(frozen=True)
class Opt:
    """A command's own option, as Thor declares it (``option :lines, type: :numeric, aliases: "-n"``)."""

    flags: tuple[str, ...]
    dest: str
    kind: OptKind = "str"
    help: str = ""
    default: Any = None
    required: bool = False
    hidden: bool = False
    metavar: str | None = None


@dataclass(frozen=True)
class Arg:
    """A positional argument; ``rest`` collects the remaining words (a remote command)."""

    name: str
    help: str = ""
    optional: bool = False
    rest: bool = False
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    options: tuple[Opt, ...] = ()
    args: tuple[Arg, ...] = ()
    subcommands: tuple[Command, ...] = ()
    hidden: bool = False  # Kamal's `hide: true`: accepted, not listed
    confirm: bool = True  # changes hosts or local files: accepts -y/--yes
    extra: bool = False  # a kamal_nb addition, not a Kamal 2.12 command


def _flag(*flags: str, help: str, dest: str | None = None, hidden: bool = False) -> Opt:
    return Opt(flags, dest or _dest(flags), "flag", help, False, hidden=hidden)


def _dest(flags: Sequence[str]) -> str:
    return next(f for f in flags if f.startswith("--"))[2:].replace("-", "_")


def _opt(*flags: str, help: str, kind: OptKind = "str", default: Any = None, **extra: Any) -> Opt:
    return Opt(flags, extra.pop("dest", None) or _dest(flags), kind, help, default, **extra)


# -- options shared by several commands (same words as Kamal's `desc:`) ------------------------------

_SKIP_PUSH = _flag("-P", "--skip-push", help="Skip image build and push")
_NO_CACHE = _flag("--no-cache", help="Build without using Docker's build cache")
_ROLLING_UPGRADE = _flag("--rolling", help="Upgrade one host at a time")
_ROLLING_REBOOT = _flag("--rolling", help="Reboot proxy on hosts in sequence, rather than in parallel")
_INTERACTIVE = _flag(
    "-i", "--interactive", help="Execute command over ssh for an interactive shell (use for console/bash)"
)
_REUSE = _flag("--reuse", help="Reuse currently running container instead of starting a new one")
_RAW = _flag("--raw", help="Output raw, unmodified stdout")
_SINCE = _opt("-s", "--since", help="Show lines since timestamp (e.g. 2013-01-02T13:23:37Z) or relative (e.g. 42m)")
_LINES = _opt("-n", "--lines", kind="int", help="Number of log lines to pull from each server")
_GREP = _opt("-g", "--grep", help="Show lines with grep match only (use this to fetch specific requests by id)")
_GREP_OPTIONS = _opt("--grep-options", help="Additional options supplied to grep")
_FOLLOW = _flag("-f", "--follow", help="Follow logs on primary server (or specific host set by --hosts)")
_SKIP_TIMESTAMPS = _flag("-T", "--skip-timestamps", help="Skip appending timestamps to logging output")
# kamal_nb: bounds of a followed or streamed command (it runs until stopped otherwise)
_FOR = _opt("--for", kind="float", dest="follow_for", help="kamal_nb: stop following after SECONDS")
_KEEP = _opt("--keep", kind="int", help="kamal_nb: lines kept in the result of a follow (default 1000)")
_STREAM = _flag("--stream", help="kamal_nb: stream the output live until it ends or is stopped (button, Ctrl-C)")
_LOG_OPTIONS = (_SINCE, _LINES, _GREP, _GREP_OPTIONS, _FOLLOW, _SKIP_TIMESTAMPS, _FOR, _KEEP)
_SKIP_LOCAL = _flag("-L", "--skip-local", help="Skip local login")
_SKIP_REMOTE = _flag("-R", "--skip-remote", help="Skip remote login")
_INLINE = _flag("--inline", help="(hidden in Kamal)", hidden=True)
_REVEAL = _flag(
    "--reveal", help="kamal_nb: show the secret values in a notebook (redacted there otherwise; the CLI prints them)"
)
_NAME = Arg("name", "Accessory name (all: every accessory)")
_ONE_NAME = Arg("name", "Accessory name")
_CMD = Arg("cmd", "The command to run (quote it to keep it one word)", rest=True)


def _ro(name: str, help: str, **extra: Any) -> Command:
    """A command that only reads (no -y)."""
    return Command(name, help, confirm=False, **extra)


def _cmd(name: str, help: str, **extra: Any) -> Command:
    return Command(name, help, **extra)


APP = _cmd(
    "app",
    "Manage application",
    subcommands=(
        _cmd("boot", "Boot app on servers (or reboot app if already running)"),
        _cmd("start", "Start existing app container on servers"),
        _cmd("stop", "Stop app container on servers"),
        _ro("details", "Show details about app containers"),
        _cmd(
            "exec",
            "Execute a custom command on servers within the app container",
            args=(_CMD,),
            options=(
                _INTERACTIVE,
                _REUSE,
                _opt(
                    "-e", "--env", kind="map", help="Set environment variables for the command (KEY:VALUE, repeatable)"
                ),
                _flag("--detach", help="Execute command in a detached container"),
                _RAW,
                _STREAM,
                _FOR,
                _KEEP,
            ),
        ),
        _ro("containers", "Show app containers on servers"),
        _cmd(
            "stale_containers",
            "Detect app stale containers",
            options=(_flag("-s", "--stop", help="Stop the stale containers found"),),
        ),
        _ro("images", "Show app images on servers"),
        _ro(
            "logs",
            "Show log lines from app on servers",
            options=(*_LOG_OPTIONS, _opt("--container-id", help="Docker container ID to fetch logs")),
        ),
        _cmd("remove", "Remove app containers and images from servers"),
        _cmd("live", "Set the app to live mode"),
        _cmd(
            "maintenance",
            "Set the app to maintenance mode",
            options=(
                _opt(
                    "--drain-timeout",
                    kind="int",
                    help="How long to allow in-flight requests to complete (defaults to drain_timeout from config)",
                ),
                _opt("--message", help="Message to display to clients while stopped"),
            ),
        ),
        _cmd(
            "remove_container",
            "Remove app container with given version from servers",
            args=(Arg("version"),),
            hidden=True,
        ),
        _cmd("remove_containers", "Remove all app containers from servers", hidden=True),
        _cmd("remove_images", "Remove all app images from servers", hidden=True),
        _cmd("remove_app_directories", "Remove the app directories from servers", hidden=True),
        _ro("version", "Show app version currently running on servers"),
    ),
)

ACCESSORY = _cmd(
    "accessory",
    "Manage accessories (db/redis/search)",
    subcommands=(
        _cmd("boot", "Boot new accessory service on host (use NAME=all to boot all accessories)", args=(_NAME,)),
        _cmd("upload", "Upload accessory files to host", args=(_NAME,), hidden=True),
        _cmd("directories", "Create accessory directories on host", args=(_NAME,), hidden=True),
        _cmd("reboot", "Reboot existing accessory on host (use NAME=all to reboot all accessories)", args=(_NAME,)),
        _cmd("start", "Start existing accessory container on host", args=(_NAME,)),
        _cmd("stop", "Stop existing accessory container on host", args=(_NAME,)),
        _cmd("restart", "Restart existing accessory container on host", args=(_NAME,)),
        _ro("details", "Show details about accessory on host (use NAME=all to show all accessories)", args=(_NAME,)),
        _cmd(
            "exec",
            "Execute a custom command on servers within the accessory container",
            args=(_ONE_NAME, _CMD),
            options=(_INTERACTIVE, _REUSE, _RAW),
        ),
        _ro("logs", "Show log lines from accessory on host", args=(_ONE_NAME,), options=_LOG_OPTIONS),
        _cmd("pull_image", "Pull accessory image on host", args=(_NAME,), hidden=True),
        _cmd(
            "remove",
            "Remove accessory container, image and data directory from host (use NAME=all to remove all accessories)",
            args=(_NAME,),
        ),
        _cmd("remove_container", "Remove accessory container from host", args=(_NAME,), hidden=True),
        _cmd("remove_image", "Remove accessory image from host", args=(_NAME,), hidden=True),
        _cmd(
            "remove_service_directory",
            "Remove accessory directory used for uploaded files and data directories from host",
            args=(_NAME,),
            hidden=True,
        ),
        _cmd(
            "upgrade",
            "Upgrade accessories from Kamal 1.x to 2.0 (restart them in 'kamal' network)",
            args=(_NAME,),
            options=(_ROLLING_UPGRADE,),
        ),
    ),
)

BUILD = _cmd(
    "build",
    "Build application image",
    subcommands=(
        _cmd("deliver", "Build app and push app image to registry then pull image on servers"),
        _cmd(
            "push",
            "Build and push app image to registry",
            options=(
                _opt(
                    "--output",
                    default="registry",
                    metavar="EXPORT_TYPE",
                    help="Exported type for the build result (any 'buildx --output' type)",
                ),
                _NO_CACHE,
            ),
        ),
        _cmd("pull", "Pull app image from registry onto servers"),
        _cmd("create", "Create a build setup"),
        _cmd("remove", "Remove build setup"),
        _ro("details", "Show build setup"),
        _cmd(
            "dev",
            "Build using the working directory, tag it as dirty, and push to local image store",
            options=(
                _opt(
                    "--output",
                    default="docker",
                    metavar="EXPORT_TYPE",
                    help="Exported type for the build result (any 'buildx --output' type)",
                ),
                _NO_CACHE,
            ),
        ),
    ),
)

LOCK = _cmd(
    "lock",
    "Manage the deploy lock",
    subcommands=(
        _ro("status", "Report lock status"),
        _cmd(
            "acquire",
            "Acquire the deploy lock",
            options=(_opt("-m", "--message", help="A lock message", required=True),),
        ),
        _cmd(
            "release",
            "Release the deploy lock",
            options=(
                _opt(
                    "--older-than",
                    help="kamal_nb: release only a lock held longer than this (90s, 30m, 2h, 1d); shows who holds it",
                ),
            ),
        ),
    ),
)

PROXY = _cmd(
    "proxy",
    "Manage kamal-proxy",
    subcommands=(
        _cmd("boot", "Boot proxy on servers"),
        _cmd(
            "boot_config",
            "Manage kamal-proxy boot configuration (deprecated: use proxy.run in deploy.yml)",
            args=(Arg("subcommand", "set, get or reset", choices=("set", "get", "reset")),),
            options=(
                _opt("--publish", kind="negatable", default=True, help="Publish the proxy ports on the host"),
                _opt(
                    "--publish-host-ip",
                    kind="append",
                    help="Host IP address to bind HTTP/HTTPS traffic to (repeatable). Defaults to all interfaces",
                ),
                _opt("--http-port", kind="int", default=80, help="HTTP port to publish on the host"),
                _opt("--https-port", kind="int", default=443, help="HTTPS port to publish on the host"),
                _opt("--log-max-size", default="10m", help="Max size of proxy logs"),
                _opt("--registry", help="Registry to use for the proxy image"),
                _opt("--repository", help="Repository for the proxy image"),
                _opt("--image-version", help="Version of the proxy to run"),
                _opt("--metrics-port", kind="int", help="Port to report prometheus metrics on"),
                _flag("--debug", help="Whether to run the proxy in debug mode"),
                _opt(
                    "--docker-options",
                    kind="list",
                    default=(),
                    metavar="OPTION=VALUE",
                    help="Docker options to pass to the proxy container",
                ),
            ),
        ),
        _cmd(
            "reboot",
            "Reboot proxy on servers (stop container, remove container, start new container)",
            options=(_ROLLING_REBOOT,),
        ),
        _cmd(
            "upgrade",
            "Upgrade to kamal-proxy on servers (stop container, remove container, start new container, reboot app)",
            options=(_ROLLING_REBOOT,),
            hidden=True,
        ),
        _cmd("start", "Start existing proxy container on servers"),
        _cmd("stop", "Stop existing proxy container on servers"),
        _cmd("restart", "Restart existing proxy container on servers"),
        _ro("details", "Show details about proxy container from servers"),
        _ro(
            "logs",
            "Show log lines from proxy on servers",
            options=(_SINCE, _LINES, _GREP, _FOLLOW, _SKIP_TIMESTAMPS, _FOR, _KEEP),
        ),
        _cmd(
            "remove",
            "Remove proxy container and image from servers",
            options=(_flag("--force", help="Force removing proxy when apps are still installed"),),
        ),
        _cmd("remove_container", "Remove proxy container from servers", hidden=True),
        _cmd("remove_image", "Remove proxy image from servers", hidden=True),
        _cmd("remove_proxy_directory", "Remove the proxy directory from servers", hidden=True),
    ),
)

PRUNE = _cmd(
    "prune",
    "Prune old application images and containers",
    subcommands=(
        _cmd("all", "Prune unused images and stopped containers"),
        _cmd("images", "Prune unused images"),
        _cmd(
            "containers",
            "Prune all stopped containers, except the last n (default 5)",
            options=(_opt("--retain", kind="int", help="Number of containers to retain"),),
        ),
    ),
)

REGISTRY = _cmd(
    "registry",
    "Login and -out of the image registry",
    subcommands=(
        _cmd(
            "setup",
            "Setup local registry or log in to remote registry locally and remotely",
            options=(_SKIP_LOCAL, _SKIP_REMOTE),
        ),
        _cmd(
            "remove",
            "Remove local registry or log out of remote registry locally and remotely",
            options=(_SKIP_LOCAL, _SKIP_REMOTE),
        ),
        _cmd("login", "Log in to remote registry locally and remotely", options=(_SKIP_LOCAL, _SKIP_REMOTE)),
        _cmd("logout", "Log out of remote registry locally and remotely", options=(_SKIP_LOCAL, _SKIP_REMOTE)),
    ),
)

SECRETS = _cmd(
    "secrets",
    "Helpers for extracting secrets",
    subcommands=(
        _ro(
            "fetch",
            "Fetch secrets from a vault",
            args=(Arg("secrets", "Secret names", optional=True, rest=True),),
            options=(
                _opt("-a", "--adapter", help="Which vault adapter to use", required=True),
                _opt("--account", help="The account identifier or username"),
                _opt("--from", help="A vault or folder to fetch the secrets from"),
                _INLINE,
                _REVEAL,
            ),
        ),
        _ro(
            "extract",
            "Extract a single secret from the results of a fetch call",
            args=(Arg("name"), Arg("secrets")),
            options=(_INLINE, _REVEAL),
        ),
        _ro("print", "Print the secrets (for debugging)", options=(_REVEAL,)),
    ),
)

SERVER = _cmd(
    "server",
    "Bootstrap servers with curl and Docker",
    subcommands=(
        _cmd(
            "exec",
            "Run a custom command on the server",
            args=(_CMD,),
            options=(
                _flag("-i", "--interactive", help="Run the command interactively (use for console/bash)"),
                _RAW,
                _STREAM,
                _FOR,
                _KEEP,
            ),
        ),
        _cmd("bootstrap", "Set up Docker to run Kamal apps"),
    ),
)

# kamal_nb's own additions (not in Kamal 2.12; marked `extra`).
ENV = _cmd(
    "env",
    "Secrets env files on hosts (kamal_nb; Kamal 1's `env`, gone from Kamal 2)",
    extra=True,
    subcommands=(_cmd("push", "Upload the env files to every host, without rebooting anything", extra=True),),
)

TREE = _cmd(
    "kamal",
    "Kamal 2.12 commands",
    subcommands=(
        _cmd(
            "setup", "Setup all accessories, push the env, and deploy app to servers", options=(_SKIP_PUSH, _NO_CACHE)
        ),
        _cmd("deploy", "Deploy app to servers", options=(_SKIP_PUSH, _NO_CACHE)),
        _cmd(
            "redeploy",
            "Deploy app to servers without bootstrapping servers, starting kamal-proxy and pruning",
            options=(_SKIP_PUSH, _NO_CACHE),
        ),
        _cmd("rollback", "Rollback app to VERSION", args=(Arg("version", "The version to roll back to"),)),
        _ro("details", "Show details about all containers"),
        _ro("audit", "Show audit log from servers"),
        _ro("config", "Show combined config (secrets redacted)"),
        _ro(
            "docs",
            "Show Kamal configuration documentation",
            args=(Arg("section", "A configuration section", optional=True),),
        ),
        _cmd(
            "init",
            "Create config stub in config/deploy.yml and secrets stub in .kamal",
            options=(_flag("--bundle", help="Add Kamal to the Gemfile and create a bin/kamal binstub"),),
        ),
        _cmd("remove", "Remove kamal-proxy, app, accessories, and registry session from servers"),
        _cmd("upgrade", "Upgrade from Kamal 1.x to 2.0", options=(_ROLLING_UPGRADE,)),
        _ro("version", "Show Kamal version"),
        ACCESSORY,
        APP,
        BUILD,
        LOCK,
        PROXY,
        PRUNE,
        REGISTRY,
        SECRETS,
        SERVER,
        ENV,
        _ro("state", "The fleet's state as a table: hosts, roles, containers, versions (kamal_nb)", extra=True),
        _ro(
            "watch",
            "The fleet's state (or details) refreshed in place, changes highlighted, until stopped (kamal_nb)",
            extra=True,
            args=(Arg("what", "state (default) or details", optional=True, choices=("state", "details")),),
            options=(
                _opt("--every", kind="float", default=2.0, help="Seconds between refreshes (default 2)"),
                _opt("--for", kind="float", dest="watch_for", help="Stop watching after SECONDS"),
            ),
        ),
    ),
)

# Global options: Kamal::Cli::Base's class options, accepted by every command (dest, flags, kind, help).
GLOBAL_OPTIONS: tuple[Opt, ...] = (
    _flag("-v", "--verbose", help="Detailed logging"),
    _flag("-q", "--quiet", help="Minimal logging"),
    _opt("--version", help="Run commands against a specific app version"),
    _flag("-p", "--primary", help="Run commands only on primary host instead of all"),
    _opt(
        "-h",
        "--hosts",
        kind="append",
        help="Run commands on these hosts instead of all (separate by comma, supports wildcards with *)",
    ),
    _opt(
        "-r",
        "--roles",
        kind="append",
        help="Run commands on these roles instead of all (separate by comma, supports wildcards with *)",
    ),
    _opt(
        "-c", "--config-file", default=DEFAULT_CONFIG_FILE, help=f"Path to config file (default: {DEFAULT_CONFIG_FILE})"
    ),
    _opt("-d", "--destination", help="Specify destination to be used for config file (staging -> deploy.staging.yml)"),
    _flag("-H", "--skip-hooks", help="Don't run hooks"),
    _flag("--lock-wait", help="Wait for the deploy lock if it's already held instead of failing immediately"),
    _opt(
        "--lock-wait-timeout",
        kind="float",
        default=900.0,
        help="Maximum seconds to wait for the deploy lock when --lock-wait is set (default: 900)",
    ),
    _opt(
        "--lock-wait-interval",
        kind="float",
        default=15.0,
        help="Seconds between deploy lock polls when --lock-wait is set (default: 15)",
    ),
)
GLOBAL_DESTS = frozenset(o.dest for o in GLOBAL_OPTIONS)
PREFIXES = ("plan", "help")  # kamal_nb words before a command


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
        from kamal_nb import KAMAL_COMPAT_VERSION, __version__

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
        kwargs: dict[str, Any] = {"description": command.help, "add_help": False, "allow_abbrev": False}
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


def build_parser(prog: str = "kamal-nb") -> KamalArgumentParser:
    """The whole tree; ``prog`` names it in usage and errors (``kamal-nb`` or ``%kamal``)."""
    from kamal_nb import KAMAL_COMPAT_VERSION

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
    _add_commands(parser, TREE, ())
    return parser


@functools.cache
def _cached_parser(prog: str) -> KamalArgumentParser:
    return build_parser(prog)


# -- parsing -------------------------------------------------------------------------------------


def parse(argv: Sequence[str], prog: str = "kamal-nb", parser: KamalArgumentParser | None = None) -> Invocation:
    """Parse one command line (already split into words).

    Raises :class:`ParseError` on bad arguments and :class:`HelpRequested` when help (or the
    version) was asked for instead of a command.
    """
    parser = parser or _cached_parser(prog)
    words = list(argv)
    plan = False
    if words[:1] == ["help"]:
        raise HelpRequested(help_text(words[1:], parser))
    if words[:1] == ["plan"]:
        plan, words = True, words[1:]
        if not words:
            raise ParseError(
                f"{parser.prog} plan: which command? e.g. `plan deploy --version v7`", parser.format_usage()
            )
    if not words:
        raise HelpRequested(parser.format_help())
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
