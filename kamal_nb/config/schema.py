"""The example documents Kamal 2.12 validates each section against, restated as Python data.

Source: basecamp/kamal v2.12.0, lib/kamal/configuration/docs/*.yml. Kamal's validator does not use
a schema language: it walks the user's config side by side with these documented examples, and the
*type* of each example value decides what is accepted. Only the shapes matter, so values here are
placeholders of the right type. Where a doc file repeats a key, Psych keeps the last occurrence, and
so do these tables (e.g. ``registry``, ``ssl``, ``files``, ``key_data``, ``driver``).

``ANY`` stands for the doc's ``...``: "any hash" (for ``servers``: array or hash; for ``proxy``:
hash or boolean).
"""

from __future__ import annotations

from types import EllipsisType

ANY: EllipsisType = ...

Example = str | int | bool | EllipsisType | list["Example"] | dict[str, "Example"]

ROOT: dict[str, Example] = {
    "service": "myapp",
    "image": "my-image",
    "labels": {"my-label": "my-value"},
    "volumes": ["/path/on/host:/path/in/container:ro"],
    "registry": ANY,
    "servers": ANY,
    "env": ANY,
    "asset_path": "/path/to/assets",
    "hooks_path": "/user_home/kamal/hooks",
    "hooks_output": {"pre-deploy": "verbose", "pre-build": "quiet"},
    "secrets_path": "/user_home/kamal/secrets",
    "error_pages_path": "public",
    "require_destination": True,
    "primary_role": "workers",
    "allow_empty_roles": False,
    "retain_containers": 3,
    "minimum_version": "1.3.0",
    "readiness_delay": 4,
    "deploy_timeout": 10,
    "drain_timeout": 10,
    "stop_timeout": 30,
    "run_directory": "/etc/kamal",
    "ssh": ANY,
    "builder": ANY,
    "accessories": ANY,
    "proxy": ANY,
    "sshkit": ANY,
    "boot": ANY,
    "logging": ANY,
    "output": ANY,
    "aliases": ANY,
}

# docs/role.yml, servers.workers: the hash form of a role.
ROLE: dict[str, Example] = {
    "hosts": ["172.1.0.3", {"172.1.0.4": "experiment1"}],
    "cmd": "bin/jobs",
    "stop_timeout": 30,
    "options": {"memory": "2g", "cpus": 4},
    "logging": ANY,
    "proxy": ANY,
    "labels": {"my-label": "workers"},
    "env": ANY,
    "asset_path": "/public",
}

# docs/registry.yml, last `registry:` (username/password are checked by the registry validator).
REGISTRY: dict[str, Example] = {
    "server": "<your registry region>-docker.pkg.dev",
    "username": "_json_key_base64",
    "password": ["KAMAL_REGISTRY_PASSWORD"],
}

_PATH_EXAMPLES: list[Example] = [
    {"local": "config/secret.key", "remote": "/etc/mysql/secret.key", "mode": "0600", "owner": "mysql:mysql"}
]

# docs/accessory.yml, accessories.mysql.
ACCESSORY: dict[str, Example] = {
    "service": "mysql",
    "image": "mysql:8.0",
    "registry": ANY,
    "host": "mysql-db1",
    "hosts": ["mysql-db1", "mysql-db2"],
    "role": "mysql",
    "roles": ["mysql"],
    "tag": "writer",
    "tags": ["writer", "reader"],
    "cmd": "bin/mysqld",
    "port": "127.0.0.1:3306:3306",
    "labels": {"app": "myapp"},
    "options": {"restart": "always", "cpus": 2},
    "env": ANY,
    "files": _PATH_EXAMPLES,
    "directories": _PATH_EXAMPLES,
    "volumes": ["/path/to/mysql-logs:/var/log/mysql"],
    "network": "custom",
    "proxy": ANY,
}

BUILDER: dict[str, Example] = {
    "arch": ["amd64"],
    "remote": "ssh://docker@docker-builder",
    "local": True,
    "pack": {"builder": "heroku/builder:24", "buildpacks": ["heroku/ruby", "heroku/procfile"]},
    "cache": {"type": "registry", "options": "mode=max", "image": "kamal-app-build-cache"},
    "context": ".",
    "dockerfile": "Dockerfile.production",
    "target": "production",
    "args": {"ENVIRONMENT": "production"},
    "secrets": ["SECRET1", "SECRET2"],
    "ssh": "default=$SSH_AUTH_SOCK",
    "driver": "cloud org-name/builder-name",
    "provenance": "mode=max",
    "sbom": True,
}

PROXY: dict[str, Example] = {
    "host": "foo.example.com",
    "hosts": ["foo.example.com", "bar.example.com"],
    "app_port": 3000,
    "ssl": {"certificate_pem": "CERTIFICATE_PEM", "private_key_pem": "PRIVATE_KEY_PEM"},
    "ssl_redirect": False,
    "forward_headers": True,
    "response_timeout": 10,
    "path_prefix": "/api,/oauth_callback",
    "path_prefixes": ["/api", "/oauth_callback"],
    "strip_path_prefix": False,
    "healthcheck": {"interval": 3, "path": "/health", "timeout": 3},
    "buffering": {
        "requests": True,
        "responses": True,
        "max_request_body": 40_000_000,
        "max_response_body": 0,
        "memory": 2_000_000,
    },
    "logging": {
        "request_headers": ["Cache-Control", "X-Forwarded-Proto"],
        "response_headers": ["X-Request-ID", "X-Request-Start"],
    },
    "run": {
        "http_port": 8080,
        "https_port": 8443,
        "metrics_port": 9090,
        "debug": True,
        "log_max_size": "30m",
        "publish": False,
        "bind_ips": ["0.0.0.0"],
        "registry": "registry:4443",
        "repository": "myrepo/kamal-proxy",
        "version": "v0.8.0",
        "options": {"label": ["custom.label=kamal-proxy"], "memory": "512m"},
    },
}

SSH: dict[str, Example] = {
    "user": "app",
    "port": "2222",
    "proxy": "root@proxy-host",
    "proxy_command": "ssh -W %h:%p user@proxy",
    "log_level": "debug",
    "keys_only": False,
    "keys": ["~/.ssh/id.pem"],
    "key_data": ["-----BEGIN OPENSSH PRIVATE KEY----- ..."],
    "config": ["~/.ssh/myconfig"],
    "forward_agent": False,
}

SSHKIT: dict[str, Example] = {"max_concurrent_starts": 10, "pool_idle_timeout": 300, "dns_retries": 3}

BOOT: dict[str, Example] = {"limit": "25%", "wait": 10, "parallel_roles": True}

LOGGING: dict[str, Example] = {"driver": "json-file", "options": {"max-size": "100m"}}

OUTPUT: dict[str, Example] = {
    "otel": {"endpoint": "http://otel-gateway:4318"},
    "file": {"path": "/var/log/kamal/"},
}

# docs/alias.yml: an alias is a string (the command line it stands for).
ALIAS: Example = "app exec -p -q -r web 'uname -a'"

# Kamal::Cli::Main.commands: alias names may not shadow these.
BUILT_IN_COMMANDS: frozenset[str] = frozenset(
    {
        "setup", "deploy", "redeploy", "rollback", "details", "audit", "config", "docs", "init", "remove",
        "upgrade", "version", "accessory", "app", "build", "lock", "proxy", "prune", "registry", "secrets",
        "server",
    }
)  # fmt: skip
