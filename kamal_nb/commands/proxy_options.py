"""kamal-proxy ``deploy`` and ``stop`` flags from a proxy config (``Configuration::Proxy#deploy_options``).

The flag order and the ``--flag="value"`` form are Kamal's; unset settings are left out, and
``buffering`` defaults to on (a ``false`` gives ``--buffer-requests="false"``).
"""

from __future__ import annotations

from collections.abc import Mapping

from kamal_nb.commands import proxy_paths
from kamal_nb.commands.arguments import optionize
from kamal_nb.commands.command import Token
from kamal_nb.config import Config, Proxy
from kamal_nb.config.frozen import Frozen
from kamal_nb.config.proxy import DEFAULT_LOG_REQUEST_HEADERS
from kamal_nb.ruby.values import is_truthy, ruby_to_s


def seconds(value: object) -> str | None:
    """``"30s"``; nil and false give nothing (Ruby truthiness: 0 still gives ``"0s"``)."""
    return f"{ruby_to_s(value)}s" if is_truthy(value) else None


def tls_path(proxy: Proxy, directory: str, filename: str) -> str | None:
    if not proxy.custom_ssl_certificate:
        return None
    return "/".join(p for p in (directory, proxy.role_name, filename) if p is not None)


def host_tls_cert(proxy: Proxy, config: Config) -> str | None:
    return tls_path(proxy, proxy_paths.tls_directory(config), "cert.pem")


def host_tls_key(proxy: Proxy, config: Config) -> str | None:
    return tls_path(proxy, proxy_paths.tls_directory(config), "key.pem")


def _buffering(proxy: Proxy, key: str) -> Frozen:
    buffering = proxy.raw.get("buffering", {key: True})
    return buffering.get(key, True) if isinstance(buffering, Mapping) else True


def deploy_options(proxy: Proxy, config: Config, *, version: str | None = None) -> dict[str, object]:
    """``version`` names the error pages directory; it defaults to the config's, read only when
    error pages are set."""
    request_headers = proxy.dig("logging", "request_headers")
    options: dict[str, object] = {
        "host": list(proxy.hosts),
        "tls": True if proxy.ssl else None,
        "tls-certificate-path": tls_path(proxy, proxy_paths.tls_container_directory(config), "cert.pem"),
        "tls-private-key-path": tls_path(proxy, proxy_paths.tls_container_directory(config), "key.pem"),
        "deploy-timeout": seconds(config.deploy_timeout),
        "drain-timeout": seconds(config.drain_timeout),
        "health-check-interval": seconds(proxy.dig("healthcheck", "interval")),
        "health-check-timeout": seconds(proxy.dig("healthcheck", "timeout")),
        "health-check-path": proxy.dig("healthcheck", "path"),
        "target-timeout": seconds(proxy.raw.get("response_timeout")),
        "buffer-requests": _buffering(proxy, "requests"),
        "buffer-responses": _buffering(proxy, "responses"),
        "buffer-memory": proxy.dig("buffering", "memory"),
        "max-request-body": proxy.dig("buffering", "max_request_body"),
        "max-response-body": proxy.dig("buffering", "max_response_body"),
        "path-prefix": list(proxy.path_prefixes),
        "strip-path-prefix": proxy.raw.get("strip_path_prefix"),
        "forward-headers": proxy.raw.get("forward_headers"),
        "tls-redirect": proxy.raw.get("ssl_redirect"),
        "log-request-header": DEFAULT_LOG_REQUEST_HEADERS if request_headers is None else request_headers,
        "log-response-header": proxy.dig("logging", "response_headers"),
        "error-pages": _error_pages(config, version),
    }
    return {key: value for key, value in options.items() if value is not None}


def _error_pages(config: Config, version: str | None) -> str | None:
    if not config.error_pages_path:
        return None
    return f"{proxy_paths.error_pages_container_directory(config)}/{version if version is not None else config.version}"


def deploy_command_args(proxy: Proxy, config: Config, *, target: str, version: str | None = None) -> list[Token]:
    options: dict[str, object] = {"target": f"{target}:{ruby_to_s(proxy.app_port)}"}
    options.update(deploy_options(proxy, config, version=version))
    return optionize(options, with_="=")


def stop_command_args(*, drain_timeout: object = None, message: str | None = None) -> list[Token]:
    options = {"drain-timeout": seconds(drain_timeout), "message": message}
    return optionize({key: value for key, value in options.items() if value is not None}, with_="=")
