"""``kamal proxy boot_config set|get|reset`` as Kamal 2.12 does it (``lib/kamal/cli/proxy.rb``): the
legacy per-host files ``.kamal/proxy/{options,image,image_version,run_command}`` that ``proxy boot``
and ``proxy reboot`` read when deploy.yml has no ``proxy.run``. Deprecated in Kamal (use
``proxy.run``), still there; no lock and no audit line, as in Kamal.

* ``set``: on each proxy host ``mkdir -p .kamal/proxy``, then each file is uploaded when its value
  differs from Kamal's default, else removed (``rm``, a failure ignored);
* ``get``: ``echo $(cat … || echo default) …`` on each proxy host, printed ``Host <host>: <config>``;
* ``reset``: the four ``rm``, failures ignored, in one round trip.

Arguments (the command line's names and defaults): ``subcommand``, ``publish`` (True),
``publish_host_ip`` (a list), ``http_port`` (80), ``https_port`` (443), ``log_max_size`` ("10m"; ""
for none), ``registry``, ``repository``, ``image_version``, ``metrics_port``, ``debug``,
``docker_options`` (``option=value`` words, each sent as ``--option=value``).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Sequence
from dataclasses import dataclass

from kamal_nb.commands import Proxy
from kamal_nb.commands import proxy_paths as paths
from kamal_nb.commands.arguments import optionize
from kamal_nb.engine.errors import Refused
from kamal_nb.fleet import Upload
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.script import (
    Action,
    Answers,
    Do,
    Gate,
    Item,
    Phase,
    Say,
    Script,
    Verdict,
    answer,
    plan_script,
    run_script,
)
from kamal_nb.ops.session import Context

DEPRECATED = "The proxy boot_config command is deprecated - set the config in the deploy YAML at proxy/run instead"
BOOT_CONFIG = "boot_config"
SUBCOMMANDS = ("set", "get", "reset")

# The files are read back unquoted (`echo $(cat file) … | xargs docker run`): a value with blanks,
# quotes or shell characters would split or expand there, so kamal_nb refuses it up front.
_IMAGE_PART = re.compile(r"[A-Za-z0-9_.:/@-]+")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DOCKER_OPTION = re.compile(r"[A-Za-z0-9_-]+(=[A-Za-z0-9_.,:=/@%+-]*)?")


@dataclass(frozen=True)
class BootConfig:
    """What ``boot_config set`` writes: each file's content, or None where Kamal removes the file."""

    options: str | None
    image: str | None
    image_version: str | None
    run_command: str | None


def _port(args: Args, name: str, default: int | None) -> int | None:
    value = args.get(name, default)
    if value is None or value == "":
        return default
    if isinstance(value, bool) or not str(value).isdigit() or not 0 < int(str(value)) < 65536:
        raise Refused(f"proxy boot_config: --{name.replace('_', '-')} must be a port number (1-65535), got {value!r}")
    return int(str(value))


def _word(args: Args, name: str, pattern: re.Pattern[str], allowed: str) -> str | None:
    value = args.get(name)
    if value is None or str(value) == "":
        return None
    if not pattern.fullmatch(str(value)):
        raise Refused(
            f"proxy boot_config: --{name.replace('_', '-')} {str(value)!r} would be split or expanded by the "
            f"host's shell when kamal-proxy boots (the file is read unquoted); allowed: {allowed}"
        )
    return str(value)


def _bind_ips(args: Args) -> tuple[str, ...] | None:
    given = args.get("publish_host_ip")
    ips = (given,) if isinstance(given, str) else tuple(str(ip) for ip in given or ())
    for ip in ips:
        try:
            ipaddress.ip_address(ip)
        except ValueError:
            raise Refused(f"Invalid publish IP address: {ip}") from None
    return ips or None


def _docker_options(args: Args) -> list[str]:
    given = args.get("docker_options") or ()
    options = [given] if isinstance(given, str) else [str(o) for o in given]
    for option in options:
        if not _DOCKER_OPTION.fullmatch(option):
            raise Refused(
                f"proxy boot_config: --docker-options {option!r} is not option=value with letters, digits and "
                "'_.,:=/@%+-' (the options file is read unquoted by the host's shell)"
            )
    return [f"--{option}" for option in options]


def wanted(args: Args) -> BootConfig:
    """The files Kamal's ``boot_config set`` writes for these options (raises Refused on bad input)."""
    http_port = _port(args, "http_port", paths.DEFAULT_HTTP_PORT)
    https_port = _port(args, "https_port", paths.DEFAULT_HTTPS_PORT)
    metrics_port = _port(args, "metrics_port", None)
    bind_ips = _bind_ips(args)
    log_max_size = args.get("log_max_size", paths.DEFAULT_LOG_MAX_SIZE)
    if log_max_size is None:
        log_max_size = paths.DEFAULT_LOG_MAX_SIZE
    if log_max_size != "" and not _TAG.fullmatch(str(log_max_size)):
        raise Refused(f"proxy boot_config: --log-max-size {log_max_size!r} is not a size such as 10m")
    registry = _word(args, "registry", _IMAGE_PART, "letters, digits and '_.:/@-'")
    repository = _word(args, "repository", _IMAGE_PART, "letters, digits and '_.:/@-'")
    image_version = _word(args, "image_version", _TAG, "a Docker tag: letters, digits, '_', '.', '-'")
    docker_options = _docker_options(args)

    boot_options: list[str] = []
    if args.get("publish", True):
        boot_options.append(paths.publish_args(http_port, https_port, bind_ips))
    boot_options += [str(token) for token in paths.logging_args(str(log_max_size) or None)]
    if metrics_port is not None:
        boot_options.append(f"--expose={metrics_port}")
    boot_options += docker_options

    image = "/".join(p for p in (registry, repository or "basecamp", "kamal-proxy") if p)
    run_options: dict[str, object] = {}
    if args.get("debug"):
        run_options["debug"] = True
    if metrics_port is not None:
        run_options["metrics-port"] = metrics_port
    run_command = " ".join(["kamal-proxy", "run", *map(str, optionize(run_options))]) if run_options else None
    return BootConfig(
        options=None if boot_options == paths.default_boot_options() else " ".join(boot_options),
        image=None if image == paths.IMAGE_DEFAULT else image,
        image_version=image_version,
        run_command=run_command,
    )


def _write_or_reset(content: str | None, path: str, reset: Do) -> Do:
    return Do(Upload(path, content.encode())) if content is not None else reset


def set_phase(ctx: Context, config: BootConfig) -> Phase:
    def steps(host: str) -> tuple[Action, ...]:
        proxy = Proxy(ctx.config, host=host)
        c = ctx.config
        return (
            Do(proxy.ensure_proxy_directory()),
            _write_or_reset(config.options, paths.options_file(c), Do(proxy.reset_boot_options(), tolerate=True)),
            _write_or_reset(config.image, paths.image_file(c), Do(proxy.reset_image(), tolerate=True)),
            _write_or_reset(
                config.image_version, paths.image_version_file(c), Do(proxy.reset_image_version(), tolerate=True)
            ),
            _write_or_reset(
                config.run_command, paths.run_command_file(c), Do(proxy.reset_run_command(), tolerate=True)
            ),
        )

    return Phase({host: steps(host) for host in ctx.selection.proxy_hosts})


def reset_phase(ctx: Context) -> Phase:
    def steps(proxy: Proxy) -> tuple[Action, ...]:
        return tuple(
            Do(command, tolerate=True)
            for command in (
                proxy.reset_boot_options(),
                proxy.reset_image(),
                proxy.reset_image_version(),
                proxy.reset_run_command(),
            )
        )

    return Phase({host: steps(Proxy(ctx.config, host=host)) for host in ctx.selection.proxy_hosts})


def get_items(ctx: Context) -> list[Item]:
    hosts: Sequence[str] = ctx.selection.proxy_hosts

    def printed(host: str) -> Gate:
        def line(answers: Answers) -> Verdict:
            return Verdict(message=f"Host {host}: {answer(answers, host, BOOT_CONFIG)}")

        return Gate(line, "prints `Host <host>: <boot config>` for each proxy host")

    read = Phase({h: (Do(Proxy(ctx.config, host=h).boot_config(), capture=BOOT_CONFIG),) for h in hosts})
    return [read, *(printed(h) for h in hosts)]


def _subcommand(args: Args) -> str:
    subcommand = str(args.get("subcommand") or "")
    if subcommand not in SUBCOMMANDS:
        raise Refused(f"Unknown boot_config subcommand {subcommand or '(none)'}: set, get or reset")
    return subcommand


def _script(ctx: Context, args: Args) -> Script:
    subcommand = _subcommand(args)
    name = f"proxy boot_config {subcommand}"
    if subcommand == "set":
        return Script(name, (Say(DEPRECATED), set_phase(ctx, wanted(args))), notes=(DEPRECATED,))
    if subcommand == "reset":
        return Script(name, (Say(DEPRECATED), reset_phase(ctx)), notes=(DEPRECATED,))
    return Script(name, (Say(DEPRECATED), *get_items(ctx)), notes=(DEPRECATED,))


register(
    ("proxy", "boot_config"),
    "Manage kamal-proxy boot configuration (deprecated: use proxy.run in deploy.yml)",
    mutating=True,
    plan=lambda ctx, args: plan_script(ctx, _script(ctx, args)),
    run=lambda ctx, args: run_script(ctx, _script(ctx, args)),
    mutating_when=lambda args: args.get("subcommand") != "get",  # get only reads: no --yes
)
