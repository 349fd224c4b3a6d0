"""deploy.yml and .kamal/secrets loaded exactly as Kamal 2.12 loads them, into an immutable Config.

from kamal_nb.config import load_config
config = load_config("config/deploy.yml", destination="staging", version="abc123")
config.primary_role.hosts, config.absolute_image, config.role("web").env("1.1.1.1").clear
"""

from kamal_nb.config.accessories import Accessory, AccessoryPath
from kamal_nb.config.assemble import Source, build_config
from kamal_nb.config.boot import Boot, Output
from kamal_nb.config.builder import Builder
from kamal_nb.config.docker_logging import Logging
from kamal_nb.config.env import Env, EnvValue
from kamal_nb.config.errors import ConfigError
from kamal_nb.config.loader import DEFAULT_CONFIG_FILE, config_files, load_config, load_raw_config
from kamal_nb.config.model import Config
from kamal_nb.config.proxy import Proxy, ProxyRun
from kamal_nb.config.registry import Registry
from kamal_nb.config.roles import Role
from kamal_nb.config.secret_source import SecretsSource, SecretValue
from kamal_nb.config.ssh import Ssh, Sshkit
from kamal_nb.config.validation import ValidationError

__all__ = [
    "DEFAULT_CONFIG_FILE",
    "Accessory",
    "AccessoryPath",
    "Boot",
    "Builder",
    "Config",
    "ConfigError",
    "Env",
    "EnvValue",
    "Logging",
    "Output",
    "Proxy",
    "ProxyRun",
    "Registry",
    "Role",
    "SecretValue",
    "SecretsSource",
    "Source",
    "Ssh",
    "Sshkit",
    "ValidationError",
    "build_config",
    "config_files",
    "load_config",
    "load_raw_config",
]
