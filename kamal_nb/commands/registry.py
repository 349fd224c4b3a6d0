"""Logging in to the image registry, and Kamal's own local registry (``Kamal::Commands::Registry``)."""

from __future__ import annotations

from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, Sensitive, any_of, combine, docker
from kamal_nb.commands.quoting import escape_shell_value
from kamal_nb.config import Registry as RegistryConfig
from kamal_nb.redaction import Secret

LOCAL_REGISTRY_CONTAINER = "kamal-docker-registry"


class Registry(Base):
    def login(self, *, registry_config: RegistryConfig | None = None) -> Command | None:
        """``docker login [server] -u "<user>" -p "<password>"``; None for a local registry, which
        needs no login. The password is always shown redacted, the username only when it comes from
        the secrets (Kamal redacts both; a username written in deploy.yml is no secret)."""
        registry = registry_config or self.config.registry
        if registry.local:
            return None
        username = registry.username(self.config.secrets)
        password = registry.password(self.config.secrets)
        user = escape_shell_value(username) if isinstance(username, str) else _sensitive(username)
        return docker("login", registry.server, "-u", user, "-p", _sensitive(password))

    def logout(self, *, registry_config: RegistryConfig | None = None) -> Command:
        registry = registry_config or self.config.registry
        return docker("logout", registry.server)

    def setup(self, *, registry_config: RegistryConfig | None = None) -> Command:
        registry = registry_config or self.config.registry
        return any_of(
            docker("start", LOCAL_REGISTRY_CONTAINER),
            docker(
                "run",
                "--detach",
                "-p",
                f"127.0.0.1:{registry.local_port}:5000",
                "--name",
                LOCAL_REGISTRY_CONTAINER,
                "registry:3",
            ),
        )

    def remove(self) -> Command:
        return combine(docker("stop", LOCAL_REGISTRY_CONTAINER), docker("rm", LOCAL_REGISTRY_CONTAINER))

    def local(self) -> bool:
        """Kamal's ``local?``."""
        return self.config.registry.local


def _sensitive(value: object) -> Sensitive:
    text = value.reveal() if isinstance(value, Secret) else ("" if value is None else str(value))
    return Sensitive(escape_shell_value(text))
