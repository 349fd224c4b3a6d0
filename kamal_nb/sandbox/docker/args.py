"""docker's command-line rules in the sandbox's docker emulator: pflag-style option parsing, the
option specs several commands share, filters and labels; and the errors every command may exit with.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kamal_nb.sandbox.objects import split_reference

CLIENT_VERSION = "28.2.2"


SERVER_VERSION = "28.2.2-sandbox"  # tells a sandbox host apart in `docker version` and state tables


API_VERSION = "1.50"


BUILDX_VERSION = "github.com/docker/buildx v0.24.0-sandbox kamal-nb"


NOTE = "(the kamal_nb sandbox's docker emulator does not support it)"


class DockerExit(Exception):
    """End the command with ``code`` after printing ``message`` on stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unsupported(what: str, command: str = "") -> DockerExit:
    see = f"\nSee 'docker {command} --help'." if command else ""
    return DockerExit(125, f"{what} {NOTE}{see}")


def daemon_error(message: str, code: int = 1) -> DockerExit:
    return DockerExit(code, f"Error response from daemon: {message}")


@dataclass(frozen=True)
class Options:
    values: Mapping[str, Any]

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def value(self, name: str, default: str | None = None) -> str | None:
        found = self.values.get(name)
        return found if isinstance(found, str) else default

    def list(self, name: str) -> list[str]:
        found = self.values.get(name)
        return list(found) if isinstance(found, list) else []


def parse_options(
    command: str,
    argv: Sequence[str],
    spec: Mapping[str, str],
    *,
    interspersed: bool = True,
    min_args: int = 0,
    max_args: int | None = None,
    usage: str = "",
) -> tuple[Options, list[str]]:
    """``spec``: "--name|-n" -> "bool" | "value" | "list"."""
    names: dict[str, tuple[str, str]] = {}
    for key, kind in spec.items():
        canonical = key.split("|")[0]
        for alias in key.split("|"):
            names[alias] = (canonical, kind)
    values: dict[str, Any] = {}
    positional: list[str] = []

    def store(canonical: str, kind: str, value: str | None) -> None:
        if kind == "bool":
            if value not in (None, "true", "false", "1", "0"):
                raise DockerExit(125, f'invalid argument "{value}" for "{canonical}" flag: parse error')
            values[canonical] = value in (None, "true", "1")
        elif kind == "list":
            values.setdefault(canonical, []).append(value)
        else:
            values[canonical] = value

    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional += args[index:]
            break
        if arg.startswith("--") and len(arg) > 2:
            name, has_value, value = arg.partition("=")
            if name not in names:
                raise unsupported(f"unknown flag: {name}", command)
            canonical, kind = names[name]
            if kind != "bool" and not has_value:
                if index >= len(args):
                    raise DockerExit(125, f"flag needs an argument: {name}\nSee 'docker {command} --help'.")
                value = args[index]
                index += 1
            store(canonical, kind, value if has_value or kind != "bool" else None)
        elif arg.startswith("-") and len(arg) > 1:
            position = 1
            while position < len(arg):
                letter = "-" + arg[position]
                if letter not in names:
                    raise unsupported(f"unknown shorthand flag: '{arg[position]}' in {arg}", command)
                canonical, kind = names[letter]
                position += 1
                if kind == "bool":
                    store(canonical, kind, None)
                    continue
                rest = arg[position:].removeprefix("=")
                if not rest:
                    if index >= len(args):
                        raise DockerExit(125, f"flag needs an argument: '{letter[1]}' in {arg}")
                    rest = args[index]
                    index += 1
                store(canonical, kind, rest)
                break
        else:
            positional.append(arg)
            if not interspersed:
                positional += args[index:]
                break
    if len(positional) < min_args:
        need = "at least 1 argument" if min_args == 1 else f"at least {min_args} arguments"
        if max_args == min_args:
            need = "exactly 1 argument" if min_args == 1 else f"exactly {min_args} arguments"
        raise DockerExit(
            1,
            f"docker: 'docker {command}' requires {need}\n\nUsage:  docker {command} {usage}\n\nSee 'docker {command} --help' for more information",
        )
    if max_args is not None and len(positional) > max_args:
        if max_args == 0:
            raise DockerExit(
                1,
                f"docker: 'docker {command}' accepts no arguments\n\nSee 'docker {command} --help' for more information",
            )
        raise DockerExit(
            1,
            f"docker: 'docker {command}' requires {'exactly' if max_args == min_args else 'at most'} {max_args} argument{'s' if max_args > 1 else ''}\n\nSee 'docker {command} --help' for more information",
        )
    return Options(values), positional


RUN_SPEC = {
    "--detach|-d": "bool",
    "--rm": "bool",
    "--interactive|-i": "bool",
    "--tty|-t": "bool",
    "--init": "bool",
    "--privileged": "bool",
    "--read-only": "bool",
    "--name": "value",
    "--restart": "value",
    "--network|--net": "value",
    "--hostname|-h": "value",
    "--env|-e": "list",
    "--env-file": "list",
    "--label|-l": "list",
    "--label-file": "list",
    "--log-driver": "value",
    "--log-opt": "list",
    "--publish|-p": "list",
    "--expose": "list",
    "--volume|-v": "list",
    "--mount": "list",
    "--tmpfs": "list",
    "--memory|-m": "value",
    "--memory-reservation": "value",
    "--memory-swap": "value",
    "--cpus": "value",
    "--cpu-shares|-c": "value",
    "--pids-limit": "value",
    "--shm-size": "value",
    "--ulimit": "list",
    "--add-host": "list",
    "--dns": "list",
    "--network-alias": "list",
    "--cap-add": "list",
    "--cap-drop": "list",
    "--security-opt": "list",
    "--sysctl": "list",
    "--device": "list",
    "--group-add": "list",
    "--user|-u": "value",
    "--workdir|-w": "value",
    "--entrypoint": "value",
    "--stop-signal": "value",
    "--stop-timeout": "value",
    "--health-cmd": "value",
    "--health-interval": "value",
    "--health-timeout": "value",
    "--health-retries": "value",
    "--health-start-period": "value",
    "--no-healthcheck": "bool",
    "--pull": "value",
    "--platform": "value",
}


PS_SPEC = {
    "--all|-a": "bool",
    "--filter|-f": "list",
    "--format": "value",
    "--latest|-l": "bool",
    "--last|-n": "value",
    "--quiet|-q": "bool",
    "--no-trunc": "bool",
    "--size|-s": "bool",
}


PS_FILTERS = {"label", "status", "ancestor", "name", "id", "network", "volume", "exited", "health"}


DOCKER_PS_FILTERS = {*PS_FILTERS, "before", "since", "expose", "publish", "isolation", "is-task"}


STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}


def parse_filters(command: str, raw: Iterable[str], known: set[str], docker_known: set[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in raw:
        key, has_value, value = item.partition("=")
        key = key.strip().lower()
        if not has_value:
            raise DockerExit(
                125,
                f'invalid argument "{item}" for "-f, --filter" flag: bad format of filter (expected name=value)\nSee \'docker {command} --help\'.',
            )
        if key not in docker_known:
            raise daemon_error(f"invalid filter '{key}'")
        if key not in known:
            raise unsupported(f"the {key}= filter")
        filters.setdefault(key, []).append(value)
    return filters


def label_matches(labels: Mapping[str, str], wanted: Iterable[str]) -> bool:
    for item in wanted:
        key, has_value, value = item.partition("=")
        if key not in labels or (has_value and labels[key] != value):
            return False
    return True


def reference_match(pattern: str, tag: str) -> bool:
    """Docker's reference filter: path.Match against `name:tag`, or against `name` alone."""
    regex = "".join(
        "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) if c not in "[]" else c for c in pattern
    )
    name, _ = split_reference(tag)
    return bool(re.fullmatch(regex, tag) or (":" not in pattern.rpartition("/")[2] and re.fullmatch(regex, name)))


def env_file_lines(path: Path, given: str) -> list[str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DockerExit(
            125, f"docker: open {given}: no such file or directory\n\nRun 'docker run --help' for more information"
        ) from None
    lines = []
    for raw in text.splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, has_value, _ = line.partition("=")
        if not has_value:
            value = os.environ.get(key)
            if value is None:
                continue
            line = f"{key}={value}"
        lines.append(line)
    return lines


def labels_from(items: Iterable[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        labels[key] = value
    return labels
