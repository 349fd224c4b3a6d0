"""``kamal-nb config``: print the resolved configuration as ``kamal config`` does.

Same keys, same order, same YAML (Ruby's ``to_yaml`` of ``Kamal::Configuration#to_h``), with one
deliberate difference: secret values (``ssh.key_data`` read from the secrets files) print as
``[REDACTED]``, where Kamal prints them in clear.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence
from typing import TextIO

from kamal_nb.cli_commands import CONFIG_LOADS_LOCALLY
from kamal_nb.commands.quoting import escape_shell_value
from kamal_nb.config.errors import ConfigError
from kamal_nb.config.frozen import thaw
from kamal_nb.config.loader import DEFAULT_CONFIG_FILE, load_config
from kamal_nb.config.model import Config
from kamal_nb.ruby.psych_dump import RubyObject, dump
from kamal_nb.ruby.values import RubySymbol, is_present, ruby_to_s

REDACTED = "[REDACTED]"


def add_config_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "config",
        help="Show combined config (secrets redacted)",
        description=f"Show combined config. {CONFIG_LOADS_LOCALLY}",
    )
    parser.add_argument("-c", "--config-file", default=DEFAULT_CONFIG_FILE, help="Path to config file")
    parser.add_argument(
        "-d", "--destination", help="Specify destination to be used for config file (staging -> deploy.staging.yml)"
    )
    parser.add_argument("--version", dest="app_version", help="Run commands against a specific app version")
    parser.set_defaults(handler=run_config_command)


def run_config_command(args: argparse.Namespace, *, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    try:
        config = load_config(args.config_file, destination=args.destination, version=args.app_version)
        out.write(render_config(config))
    except ConfigError as error:
        from kamal_nb.kamal_errors import report

        return report(error, out)  # on stdout, as Kamal prints it
    return 0


def render_config(config: Config) -> str:
    return dump(config_view(config))


def config_view(config: Config) -> dict[RubySymbol, object]:
    """``Kamal::Configuration#to_h``, nil values dropped (``compact``)."""
    view: dict[RubySymbol, object] = {
        RubySymbol("roles"): list(config.role_names),
        RubySymbol("hosts"): list(config.all_hosts),
        RubySymbol("primary_host"): config.primary_host,
        RubySymbol("version"): config.version,
        RubySymbol("repository"): config.repository,
        RubySymbol("absolute_image"): config.absolute_image,
        RubySymbol("service_with_version"): config.service_with_version,
        RubySymbol("volume_args"): [part for volume in config.volumes for part in ("--volume", volume)],
        RubySymbol("ssh_options"): _ssh_options(config),
        RubySymbol("sshkit"): thaw(config.sshkit.raw),
        RubySymbol("builder"): thaw(config.builder.raw),
        RubySymbol("accessories"): thaw(config.raw.get("accessories")),
        RubySymbol("logging"): _logging_args(config),
    }
    return {key: value for key, value in view.items() if value is not None}


def _ssh_options(config: Config) -> dict[RubySymbol, object]:
    raw = config.ssh.raw
    proxy: object = None
    if config.ssh.proxy is not None:
        proxy = RubyObject("Net::SSH::Proxy::Jump", {"jump_proxies": config.ssh.proxy})
    elif config.ssh.proxy_command is not None:
        proxy = RubyObject(
            "Net::SSH::Proxy::Command",
            {"command_line_template": config.ssh.proxy_command, "command_line": None, "timeout": 60},
        )
    key_data = config.ssh_key_data()
    options: dict[RubySymbol, object] = {
        RubySymbol("user"): raw.get("user", "root"),
        RubySymbol("port"): raw.get("port", 22),
        RubySymbol("proxy"): proxy,
        RubySymbol("keepalive"): True,
        RubySymbol("keepalive_interval"): 30,
        RubySymbol("keys_only"): raw.get("keys_only"),
        RubySymbol("keys"): thaw(raw.get("keys")),
        RubySymbol("key_data"): None if key_data is None else [_redacted(item) for item in key_data],
        RubySymbol("config"): thaw(raw.get("config")),
        RubySymbol("forward_agent"): raw.get("forward_agent"),
    }
    compacted = {key: value for key, value in options.items() if value is not None}
    compacted[RubySymbol("log_level")] = raw.get("log_level", RubySymbol("fatal"))
    return compacted


def _redacted(value: object) -> object:
    return value if isinstance(value, str) else REDACTED


def _logging_args(config: Config) -> list[str]:
    logging = config.logging
    if logging.is_default:
        return ["--log-opt", 'max-size="10m"']
    args: list[str] = []
    if logging.driver is not None:
        args += ["--log-driver", escape_shell_value(logging.driver)]
    return args + _argumentize("--log-opt", logging.options)


def _argumentize(flag: str, attributes: Mapping[object, object]) -> list[str]:
    args: list[str] = []
    for key, value in attributes.items():
        name = _to_s(key)
        if is_present(value):
            args += [flag, f"{name}={escape_shell_value(_to_s(value))}"]
        elif value is False:
            args += [flag, f"{name}=false"]
        else:
            args += [flag, name]
    return args


def _to_s(value: object) -> str:
    return ruby_to_s(value)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kamal_nb.cli_config`` (the ``kamal-nb config`` subcommand, standalone)."""
    parser = argparse.ArgumentParser(prog="kamal-nb")
    add_config_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["config", *(argv or sys.argv[1:])])
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
