"""What every image builder shares: the ``docker buildx build`` line and its options
(``Kamal::Commands::Builder::Base``).

``local_arch`` is the local Docker engine's arch (Kamal asks ``docker info``); it only matters when a
remote builder is configured, and the caller supplies it so building commands runs nothing.
Whether the Dockerfile exists (Kamal raises ``Missing Dockerfile``) is also the caller's check.
"""

from __future__ import annotations

from collections.abc import Mapping

from kamal_nb.commands.arguments import argumentize
from kamal_nb.commands.base import Base
from kamal_nb.commands.command import Command, Token, any_of, cmd, combine, docker, pipe
from kamal_nb.config import Config
from kamal_nb.redaction import Secret
from kamal_nb.ruby.values import is_present, is_truthy, ruby_to_s

ENDPOINT_DOCKER_HOST_INSPECT = "'{{.Endpoints.docker.Host}}'"


class BuilderBase(Base):
    def __init__(self, config: Config, *, local_arch: str | None = None, version: str | None = None) -> None:
        super().__init__(config)
        self._local_arch = local_arch
        self._version = version

    # -- settings (Kamal's Configuration::Builder) ------------------------------------------------

    @property
    def version(self) -> str:
        return self._version if self._version is not None else self.config.version

    @property
    def absolute_image(self) -> str:
        return f"{self.config.repository}:{self.version}"

    @property
    def latest_image(self) -> str:
        return self.config.latest_image

    @property
    def driver(self) -> str:
        return self.config.builder.driver

    @property
    def docker_driver(self) -> bool:
        return self.config.builder.docker_driver

    @property
    def remote(self) -> str | None:
        return self.config.builder.remote

    @property
    def arches(self) -> tuple[str, ...]:
        return self.config.builder.arches

    @property
    def local_arches(self) -> tuple[str, ...]:
        builder = self.config.builder
        if builder.local_disabled:
            return ()
        if builder.remote is None:
            return builder.arches
        if self._local_arch is None:
            raise ValueError("a remote builder is configured: give local_arch (the local docker engine's arch)")
        return builder.local_arches(self._local_arch)

    @property
    def remote_arches(self) -> tuple[str, ...]:
        if self.remote is None:
            return ()
        local = self.local_arches
        return tuple(arch for arch in self.arches if arch not in local)

    @property
    def secrets(self) -> dict[str, Secret]:
        return {name: _secret(self.config.secrets[name]) for name in self.config.builder.secret_names}

    @property
    def cache_from(self) -> str | None:
        return _cache_option(self.config, "from")

    @property
    def cache_to(self) -> str | None:
        return _cache_option(self.config, "to")

    # -- commands --------------------------------------------------------------------------------

    def builder_name(self) -> str:
        raise NotImplementedError

    def clean(self) -> Command:
        return docker("image", "rm", "--force", self.absolute_image)

    def push(self, export_action: str = "registry", *, tag_as_dirty: bool = False, no_cache: bool = False) -> Command:
        return docker(
            "buildx",
            "build",
            f"--output=type={export_action}",
            self._platform_options(self.arches),
            None if self.docker_driver else ["--builder", self.builder_name()],
            self._build_tag_options(tag_as_dirty=tag_as_dirty),
            self.build_options(),
            "--no-cache" if no_cache else None,
            self.build_context(),
            "2>&1",
        )

    def pull(self) -> Command:
        return docker("pull", self.absolute_image)

    def info(self) -> Command:
        return combine(docker("context", "ls"), docker("buildx", "ls"))

    def inspect_builder(self) -> Command | None:
        return None if self.docker_driver else docker("buildx", "inspect", self.builder_name())

    def build_options(self) -> list[Token]:
        builder = self.config.builder
        options: list[Token] = []
        if self.cache_to and self.cache_from:
            options += ["--cache-to", self.cache_to, "--cache-from", self.cache_from]
        options += argumentize("--label", {"service": self.config.service})
        # Kamal redacts build args in its logs; they are builder.args from deploy.yml, not secrets
        # (builder.secrets travel as --secret), so plans show them. A secret's value is still masked.
        options += argumentize("--build-arg", builder.args)
        options += argumentize("--secret", [("id", name) for name in builder.secret_names])
        options += argumentize("--file", builder.dockerfile)
        if is_present(builder.target):
            options += argumentize("--target", builder.target)
        if is_present(builder.ssh):
            options += argumentize("--ssh", builder.ssh)
        if builder.provenance is not None:
            options += argumentize("--provenance", ruby_to_s(builder.provenance))
        if builder.sbom is not None:
            options += argumentize("--sbom", ruby_to_s(builder.sbom))
        return options

    def build_context(self) -> str:
        return self.config.builder.context

    def validate_image(self) -> Command:
        return pipe(
            docker("inspect", "-f", "'{{ .Config.Labels.service }}'", self.absolute_image),
            any_of(
                cmd("grep", "-x", self.config.service),
                f"(echo \"Image {self.absolute_image} is missing the 'service' label\" && exit 1)",
            ),
        )

    def first_mirror(self) -> Command:
        return docker("info", "--format '{{index .RegistryConfig.Mirrors 0}}'")

    def login_to_registry_locally(self) -> bool:
        return True

    def push_env(self) -> Mapping[str, str]:
        return {}

    # -- helpers ---------------------------------------------------------------------------------

    def _build_tag_names(self, *, tag_as_dirty: bool) -> list[str]:
        names = [self.absolute_image, self.latest_image]
        return [f"{name}-dirty" for name in names] if tag_as_dirty else names

    def _build_tag_options(self, *, tag_as_dirty: bool) -> list[str]:
        return [token for name in self._build_tag_names(tag_as_dirty=tag_as_dirty) for token in ("-t", name)]

    def _driver_options(self) -> list[str]:
        return ["--driver-opt", "network=host"] if self.config.registry.local else []

    def _platform_options(self, arches: tuple[str, ...]) -> list[Token]:
        return argumentize("--platform", ",".join(f"linux/{arch}" for arch in arches)) if arches else []


def _secret(value: object) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value))


def _cache_option(config: Config, direction: str) -> str | None:
    cache = config.builder.cache
    if not is_truthy(cache) or cache is None:
        return None
    kind = ruby_to_s(cache.get("type"))
    options = cache.get("options")
    options_text = None if options is None else ruby_to_s(options)
    if kind == "gha":
        if direction == "to":
            return ",".join(p for p in ("type=gha", options_text) if p is not None)
        allowed = [
            option
            for option in (options_text.split(",") if options_text else [])
            if option.split("=", 1)[0] in ("url", "url_v2", "token", "scope", "timeout") and "=" in option
        ]
        return ",".join(["type=gha", *allowed])
    if kind == "registry":
        image = ruby_to_s(cache["image"]) if cache.get("image") is not None else f"{config.image}-build-cache"
        ref = "/".join(p for p in (config.registry.server, image) if p is not None)
        parts = ["type=registry", f"ref={ref}"]
        if direction == "to" and options_text is not None:
            parts.append(options_text)
        return ",".join(parts)
    return None
