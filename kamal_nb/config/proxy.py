"""kamal-proxy settings: per role (root ``proxy`` deep-merged under the role's own) and the proxy
container's ``run`` options. Derived values follow lib/kamal/configuration/proxy.rb and proxy/run.rb.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from kamal_nb.config.frozen import Frozen, freeze_mapping, thaw
from kamal_nb.ruby.values import deep_merge, is_present, ruby_to_s

DEFAULT_LOG_REQUEST_HEADERS = ("Cache-Control", "Last-Modified", "User-Agent")
PROXY_CONTAINER_NAME = "kamal-proxy"
PROXY_MINIMUM_VERSION = "v0.9.2"
DEFAULT_HTTP_PORT = 80
DEFAULT_HTTPS_PORT = 443
DEFAULT_LOG_MAX_SIZE = "10m"


def _strings(value: object) -> tuple[str, ...]:
    return tuple(ruby_to_s(item) for item in value) if isinstance(value, tuple) else ()


@dataclass(frozen=True)
class ProxyRun:
    """``proxy.run``: how the kamal-proxy container itself is started on a host."""

    raw: Mapping[object, Frozen]

    @property
    def debug(self) -> bool:
        return self.raw.get("debug") is True

    @property
    def publish(self) -> bool:
        return self.raw.get("publish", True) is not False

    @property
    def http_port(self) -> int | str:
        value = self.raw.get("http_port", DEFAULT_HTTP_PORT)
        return value if isinstance(value, int) else ruby_to_s(value)

    @property
    def https_port(self) -> int | str:
        value = self.raw.get("https_port", DEFAULT_HTTPS_PORT)
        return value if isinstance(value, int) else ruby_to_s(value)

    @property
    def bind_ips(self) -> tuple[str, ...] | None:
        value = self.raw.get("bind_ips")
        return _strings(value) if value is not None else None

    @property
    def log_max_size(self) -> str | None:
        value = self.raw.get("log_max_size", DEFAULT_LOG_MAX_SIZE)
        return ruby_to_s(value) if is_present(value) else None

    @property
    def metrics_port(self) -> int | str | None:
        value = self.raw.get("metrics_port")
        return value if isinstance(value, int) or value is None else ruby_to_s(value)

    @property
    def version(self) -> str:
        return ruby_to_s(self.raw.get("version", PROXY_MINIMUM_VERSION))

    @property
    def registry(self) -> str | None:
        value = self.raw.get("registry")
        return None if value is None else ruby_to_s(value)

    @property
    def repository(self) -> str:
        return ruby_to_s(self.raw.get("repository", "basecamp/kamal-proxy"))

    @property
    def image(self) -> str:
        return f"{'/'.join(p for p in (self.registry, self.repository) if p is not None)}:{self.version}"

    @property
    def options(self) -> Mapping[object, Frozen]:
        return freeze_mapping(self.raw.get("options"))


@dataclass(frozen=True)
class Proxy:
    """One proxy configuration (the root one, a role's merged one, or an accessory's)."""

    raw: Mapping[object, Frozen]
    role_name: str | None = None

    def merged_over(self, root: Proxy) -> Proxy:
        """A role's proxy: the root settings deep-merged with the role's on top."""
        merged = deep_merge(_plain(root.raw), _plain(self.raw))
        return Proxy(freeze_mapping(merged), self.role_name)

    @property
    def app_port(self) -> int | str:
        value = self.raw.get("app_port", 80)
        return value if isinstance(value, int) else ruby_to_s(value)

    @property
    def ssl(self) -> bool:
        """Kamal's ``ssl?``: true for ``ssl: true`` and for custom certificates."""
        value = self.raw.get("ssl", False)
        return value is not None and value is not False

    @property
    def hosts(self) -> tuple[str, ...]:
        listed = self.raw.get("hosts")
        if isinstance(listed, tuple):
            return tuple(_host_name(host) for host in listed)
        host = self.raw.get("host")
        return tuple(ruby_to_s(host).split(",")) if host is not None else ()

    @property
    def custom_ssl_certificate(self) -> bool:
        ssl = self.raw.get("ssl")
        return (
            isinstance(ssl, Mapping)
            and is_present(ssl.get("certificate_pem"))
            and is_present(ssl.get("private_key_pem"))
        )

    @property
    def certificate_pem_secret(self) -> str | None:
        """Name of the secret holding the certificate (look it up in Config.secrets)."""
        ssl = self.raw.get("ssl")
        return ruby_to_s(ssl.get("certificate_pem")) if isinstance(ssl, Mapping) else None

    @property
    def private_key_pem_secret(self) -> str | None:
        ssl = self.raw.get("ssl")
        return ruby_to_s(ssl.get("private_key_pem")) if isinstance(ssl, Mapping) else None

    @property
    def path_prefixes(self) -> tuple[str, ...]:
        if self.raw.get("path_prefixes") is not None:
            return _strings(self.raw["path_prefixes"])
        prefix = self.raw.get("path_prefix")
        return tuple(ruby_to_s(prefix).split(",")) if prefix is not None else ()

    def dig(self, *keys: str) -> Frozen:
        """Ruby ``Hash#dig`` over the raw settings (``dig("healthcheck", "path")``)."""
        value: Frozen = self.raw
        for key in keys:
            if not isinstance(value, Mapping):
                return None
            value = value.get(key)
        return value

    @property
    def log_request_headers(self) -> tuple[str, ...]:
        value = self.dig("logging", "request_headers")
        return _strings(value) if value else DEFAULT_LOG_REQUEST_HEADERS

    @property
    def run(self) -> ProxyRun | None:
        run = self.raw.get("run")
        return ProxyRun(run) if isinstance(run, Mapping) and len(run) > 0 else None


def _host_name(host: Frozen) -> str:
    # `hosts` is validated like server lists, so a `{host: tag}` entry is accepted; use its host.
    if isinstance(host, Mapping):
        return ruby_to_s(next(iter(host)))
    return ruby_to_s(host)


def _plain(value: Mapping[object, Frozen]) -> dict[object, object]:
    thawed = thaw(value)
    assert isinstance(thawed, dict)
    return thawed
