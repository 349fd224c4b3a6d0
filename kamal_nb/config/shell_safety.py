"""Refuse config values that Kamal would put into a host's shell command line unquoted.

Kamal quotes env values, label values, option values and messages (``escape_shell_value``, base64
for the lock), and kamal_nb quotes them exactly the same way. Other tokens go into commands as they
are: role and accessory names (container names, ``--filter``), host names (``--hostname``,
``KAMAL_HOST``), the version (container names, image tags), env and label *keys*, option keys,
volumes, ports, networks, images and the destination. In Kamal a ``;`` or ``$(…)`` in one of those
runs on the host. kamal_nb refuses them before anything runs, with an error naming the key, so that
no input can become a command. The allowed characters cover every legitimate value (IP addresses,
DNS names, ``user@host``, Docker tags and references, ``${VAR}`` in volumes).

    check_config(config)        # raises ValidationError(key="servers/web;id", ...)
    check_version("v1;id")      # raises ValidationError(key="version", ...)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from kamal_nb.config.validation import ValidationError

if TYPE_CHECKING:
    from kamal_nb.config.env import Env
    from kamal_nb.config.model import Config

# What each kind of unquoted token may contain: no whitespace, quotes, `;&|<>()`, backticks, `\`, `*?`.
_NAME = re.compile(r"[A-Za-z0-9_.-]+")
_HOST = re.compile(r"[A-Za-z0-9_.:@%\[\]-]+")
# Docker's tag grammar (128 characters at most); git commits and `_uncommitted_<hex>` fit it
_VERSION = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_ENV_KEY = re.compile(r"[A-Za-z0-9_.-]+")
_SECRET_KEY = re.compile(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?")
_LABEL_KEY = re.compile(r"[A-Za-z0-9_./-]+")
_OPTION_KEY = re.compile(r"[A-Za-z0-9_-]+")
_VOLUME = re.compile(r"[A-Za-z0-9_.:/@%+=,~${}-]+")
_PORT = re.compile(r"[A-Za-z0-9_.:/\[\]-]+")
_IMAGE = re.compile(r"[A-Za-z0-9_.:/@-]+")

_ALLOWED = {
    _NAME: "letters, digits, '_', '.', '-'",
    _HOST: "letters, digits and '_.:@%[]-'",
    _VERSION: "a Docker tag: letters, digits, '_', '.', '-', at most 128, not starting with '.' or '-'",
    _ENV_KEY: "letters, digits, '_', '.', '-'",
    _SECRET_KEY: "letters, digits, '_', '.', '-', and one ':' before an alias",
    _LABEL_KEY: "letters, digits and '_./-'",
    _OPTION_KEY: "letters, digits, '_', '-'",
    _VOLUME: "letters, digits and '_.:/@%+=,~-', '${VAR}'",
    _PORT: "letters, digits and '_.:/[]-'",
    _IMAGE: "letters, digits and '_.:/@-'",
}


def _check(value: str, pattern: re.Pattern[str], what: str, key: str) -> None:
    if not pattern.fullmatch(value) or (pattern is _VOLUME and "$(" in value):
        raise ValidationError(
            f"{key}: {what} {value!r} would reach the host's shell unquoted (as Kamal sends it), "
            f"so kamal_nb refuses it; allowed: {_ALLOWED[pattern]}",
            key=key,
        )


def check_version(version: str) -> None:
    _check(version, _VERSION, "version", "version")


def check_destination(destination: str | None) -> None:
    if destination is not None:
        _check(destination, _NAME, "destination", "destination")


def _env(env: Env, key: str) -> None:
    for name in env.clear:
        _check(name, _ENV_KEY, "env name", f"{key}/clear")
    for name in env.secret_keys:
        _check(name, _SECRET_KEY, "secret env name", f"{key}/secret")


def _labels(labels: Mapping[str, object], key: str) -> None:
    for name in labels:
        _check(name, _LABEL_KEY, "label name", key)


def _options(options: Mapping[object, object], key: str) -> None:
    for name in options:
        _check(str(name), _OPTION_KEY, "option name", key)


def _volumes(volumes: Iterable[str], key: str) -> None:
    for volume in volumes:
        _check(volume, _VOLUME, "volume", key)


def check_config(config: Config) -> None:
    """Raise ValidationError for the first token Kamal would send unquoted that could run as shell."""
    check_destination(config.destination)
    if config.declared_version is not None:
        check_version(config.declared_version)
    _check(config.image, _IMAGE, "image", "image")
    _labels(config.labels, "labels")
    _volumes(config.volumes, "volumes")
    _env(config.env, "env")
    for name, env in config.env_tags.items():
        _env(env, f"env/tags/{name}")
    for role in config.roles:
        _check(role.name, _NAME, "role name", f"servers/{role.name}")
        where = f"servers/{role.name}"
        for host in role.hosts:
            _check(host, _HOST, "host", where)
        for env in role.envs.values():
            _env(env, f"{where}/env")
        _labels(role.labels, f"{where}/labels")
        _options(role.options, f"{where}/options")
    for accessory in config.accessories:
        where = f"accessories/{accessory.name}"
        _check(accessory.name, _NAME, "accessory name", where)
        _check(accessory.service_name, _NAME, "accessory service", f"{where}/service")
        _check(accessory.image, _IMAGE, "image", f"{where}/image")
        for host in accessory.hosts:
            _check(host, _HOST, "host", where)
        if accessory.port is not None:
            _check(accessory.port, _PORT, "port", f"{where}/port")
        _check(accessory.network, _NAME, "network", f"{where}/network")
        _env(accessory.env, f"{where}/env")
        _labels(accessory.labels, f"{where}/labels")
        _options(accessory.options, f"{where}/options")
        _volumes(accessory.volumes, f"{where}/volumes")
        for kind, paths in (("files", accessory.files), ("directories", accessory.directories)):
            for path in paths:
                _volumes((path.host_path, path.container_path), f"{where}/{kind}")
