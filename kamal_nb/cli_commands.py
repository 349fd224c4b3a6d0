"""Kamal 2.12's command line as data: every command and subcommand with its options and arguments
(hidden ones too), and the global options every command accepts (Kamal's ``class_option``s).

The tree mirrors ``lib/kamal/cli/*.rb`` (basecamp/kamal v2.12.0), in Kamal's words (``desc:``);
kamal_nb's own additions are marked ``extra``. kamal_nb.cli_tree builds the argparse parser of
``%kamal`` and ``kamal-nb`` from it. Importing this module is cheap: dataclasses only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kamal_nb.ops.options import DEFAULT_CONFIG_FILE

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
    more: str = ""  # said after `help` in the command's own help only (not in the list of commands)


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


CONFIG_LOADS_LOCALLY = (
    "No host is contacted. Loading the config renders the ERB in deploy.yml on this machine, as Kamal "
    "does: commands in it (backticks, %x(), system) run locally, with your environment."
)


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
        _ro("config", "Show combined config (secrets redacted)", more=CONFIG_LOADS_LOCALLY),
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
