"""``docker run`` arguments derived from the config: env, logging, volumes, labels, options.

Kamal computes these on its configuration objects (Role#env_args, Logging#args…); they are pure
functions of the Config here, kept together because App and Accessory share them.
"""

from __future__ import annotations

from collections.abc import Mapping

from kamal_nb.commands.arguments import argumentize, optionize
from kamal_nb.commands.command import Token
from kamal_nb.config import Config, Env, Logging, Role
from kamal_nb.config.frozen import Frozen
from kamal_nb.ruby.values import is_present, ruby_to_s


def env_args(env: Env, secrets_file: str) -> list[Token]:
    """Clear values inline (``--env K="V"``), secrets through the uploaded env file."""
    return [*argumentize("--env", env.clear), *argumentize("--env-file", secrets_file)]


def role_secrets_file(config: Config, role: Role) -> str:
    return f"{config.env_directory}/roles/{role.name}.env"


def role_env_directory(config: Config) -> str:
    return f"{config.env_directory}/roles"


def role_env_args(config: Config, role: Role, host: str) -> list[Token]:
    return env_args(role.env(host), role_secrets_file(config, role))


def logging_args(logging: Logging) -> list[Token]:
    """``--log-driver``/``--log-opt`` as set, else Kamal's default ``--log-opt max-size="10m"``."""
    if is_present(logging.driver) or is_present(logging.options):
        driver = {"log-driver": logging.driver} if logging.driver is not None else {}
        return [*optionize(driver), *argumentize("--log-opt", logging.options)]
    return argumentize("--log-opt", {"max-size": "10m"})


def volume_args(volumes: tuple[str, ...]) -> list[Token]:
    return argumentize("--volume", list(volumes))


def label_args(labels: Mapping[str, str | None]) -> list[Token]:
    return argumentize("--label", labels)


def option_args(options: Mapping[object, Frozen]) -> list[Token]:
    """Docker options as flags; ``restart`` is left out (it becomes ``--restart`` on its own)."""
    return optionize({key: value for key, value in options.items() if ruby_to_s(key) != "restart"})
