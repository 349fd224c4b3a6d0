"""Where kamal-proxy's files live on a host and in its container (``Kamal::Configuration::Proxy::Boot``).

These are derived from the config (service, destination) but are about the hosts' layout, so the
commands layer computes them.
"""

from __future__ import annotations

from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.command import Token
from kamal_nb.commands.volume import Volume
from kamal_nb.config import Config

CONTAINER_NAME = "kamal-proxy"
IMAGE_DEFAULT = "basecamp/kamal-proxy"
MINIMUM_VERSION = "v0.9.2"
DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443
DEFAULT_LOG_MAX_SIZE = "10m"
APPS_CONTAINER_DIRECTORY = "/home/kamal-proxy/.apps-config"


def host_directory(config: Config) -> str:
    return f"{config.run_directory}/proxy"


def options_file(config: Config) -> str:
    return f"{host_directory(config)}/options"


def image_file(config: Config) -> str:
    return f"{host_directory(config)}/image"


def image_version_file(config: Config) -> str:
    return f"{host_directory(config)}/image_version"


def run_command_file(config: Config) -> str:
    return f"{host_directory(config)}/run_command"


def apps_directory(config: Config) -> str:
    return f"{host_directory(config)}/apps-config"


def apps_volume(config: Config) -> Volume:
    return Volume(apps_directory(config), APPS_CONTAINER_DIRECTORY)


def app_directory(config: Config) -> str:
    return f"{apps_directory(config)}/{config.service_and_destination}"


def app_container_directory(config: Config) -> str:
    return f"{APPS_CONTAINER_DIRECTORY}/{config.service_and_destination}"


def error_pages_directory(config: Config) -> str:
    return f"{app_directory(config)}/error_pages"


def error_pages_container_directory(config: Config) -> str:
    return f"{app_container_directory(config)}/error_pages"


def tls_directory(config: Config) -> str:
    return f"{app_directory(config)}/tls"


def tls_container_directory(config: Config) -> str:
    return f"{app_container_directory(config)}/tls"


def publish_args(http_port: object, https_port: object, bind_ips: tuple[str, ...] | None = None) -> str:
    """``--publish [ip:]80:80 --publish [ip:]443:443`` per bind IP, as one string (as Kamal joins it)."""
    groups = []
    for bind_ip in bind_ips or (None,):
        ip = format_bind_ip(bind_ip)
        http = ":".join(str(p) for p in (ip, http_port, DEFAULT_HTTP_PORT) if p is not None)
        https = ":".join(str(p) for p in (ip, https_port, DEFAULT_HTTPS_PORT) if p is not None)
        groups.append(" ".join(str(t) for t in argumentize("--publish", [http, https])))
    return " ".join(groups)


def logging_args(max_size: str | None) -> list[Token]:
    return argumentize("--log-opt", f"max-size={max_size}") if max_size else []


def default_boot_options() -> list[str]:
    return [publish_args(DEFAULT_HTTP_PORT, DEFAULT_HTTPS_PORT), *map(str, logging_args(DEFAULT_LOG_MAX_SIZE))]


def format_bind_ip(ip: str | None) -> str | None:
    """IPv6 addresses go in brackets (``[::1]``), as Docker's ``--publish`` wants."""
    if ip is not None and ":" in ip and not (ip.startswith("[") and ip.endswith("]")):
        return f"[{ip}]"
    return ip
