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

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING

from kamal_nb.config.unquoted_tokens import (
    ENV_KEY,
    HOST,
    IMAGE,
    LABEL_KEY,
    NAME,
    OPTION_KEY,
    PORT,
    SECRET_KEY,
    VOLUME,
    check_destination,
    check_token,
    check_version,
)

if TYPE_CHECKING:
    from kamal_nb.config.env import Env
    from kamal_nb.config.model import Config


def _env(env: Env, key: str) -> None:
    for name in env.clear:
        check_token(name, ENV_KEY, "env name", f"{key}/clear")
    for name in env.secret_keys:
        check_token(name, SECRET_KEY, "secret env name", f"{key}/secret")


def _labels(labels: Mapping[str, object], key: str) -> None:
    for name in labels:
        check_token(name, LABEL_KEY, "label name", key)


def _options(options: Mapping[object, object], key: str) -> None:
    for name in options:
        check_token(str(name), OPTION_KEY, "option name", key)


def _volumes(volumes: Iterable[str], key: str) -> None:
    for volume in volumes:
        check_token(volume, VOLUME, "volume", key)


def check_config(config: Config) -> None:
    """Raise ValidationError for the first token Kamal would send unquoted that could run as shell."""
    check_destination(config.destination)
    if config.declared_version is not None:
        check_version(config.declared_version)
    check_token(config.image, IMAGE, "image", "image")
    _labels(config.labels, "labels")
    _volumes(config.volumes, "volumes")
    _env(config.env, "env")
    for name, env in config.env_tags.items():
        _env(env, f"env/tags/{name}")
    for role in config.roles:
        check_token(role.name, NAME, "role name", f"servers/{role.name}")
        where = f"servers/{role.name}"
        for host in role.hosts:
            check_token(host, HOST, "host", where)
        for env in role.envs.values():
            _env(env, f"{where}/env")
        _labels(role.labels, f"{where}/labels")
        _options(role.options, f"{where}/options")
    for accessory in config.accessories:
        where = f"accessories/{accessory.name}"
        check_token(accessory.name, NAME, "accessory name", where)
        check_token(accessory.service_name, NAME, "accessory service", f"{where}/service")
        check_token(accessory.image, IMAGE, "image", f"{where}/image")
        for host in accessory.hosts:
            check_token(host, HOST, "host", where)
        if accessory.port is not None:
            check_token(accessory.port, PORT, "port", f"{where}/port")
        check_token(accessory.network, NAME, "network", f"{where}/network")
        _env(accessory.env, f"{where}/env")
        _labels(accessory.labels, f"{where}/labels")
        _options(accessory.options, f"{where}/options")
        _volumes(accessory.volumes, f"{where}/volumes")
        for kind, paths in (("files", accessory.files), ("directories", accessory.directories)):
            for path in paths:
                _volumes((path.host_path, path.container_path), f"{where}/{kind}")


__all__ = ["check_config", "check_destination", "check_version"]
