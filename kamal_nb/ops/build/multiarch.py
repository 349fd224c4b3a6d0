"""A multi-arch build (``builder.arch: [amd64, arm64]``) without buildx.

Each arch is built on an engine of that arch (the local one for the local arches, builder.remote's
for the remote ones; kamal_nb.ops.build.engines.open_engines refuses an arch without one) and pushed
as ``<repo>:<version>-<arch>``; then a manifest list naming those images by digest is put in the
registry through its HTTP API as ``<repo>:<version>`` and ``<repo>:latest``, so each host's engine
pulls the image of its own platform. The per-arch tags stay in the registry (the engine API pushes
by tag only); buildx pushes them untagged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kamal_nb.build_engine.registry_api import Entry, RegistryApi, RegistryApiError, split_image
from kamal_nb.engine.errors import OperationError
from kamal_nb.engine.hooks import run_hook
from kamal_nb.ops.build.engines import BuildEngine, ensure_local_registry, local_registry_forwards, open_engines
from kamal_nb.ops.session import Context
from kamal_nb.redaction import Secret

if TYPE_CHECKING:
    import docker

Build = Callable[..., None]


class ManifestError(OperationError):
    """The manifest list could not be put in the registry (one line, naming it)."""


def engine_trusts_http(client: docker.DockerClient, server: str) -> bool:
    """Whether the engine that pushed treats ``server`` as an insecure registry (plain HTTP allowed):
    loopback, its ``insecure-registries``, or an address in its insecure CIDRs."""
    host = server.rsplit(":", 1)[0] if not server.startswith("[") else server[1:].split("]")[0]
    if host == "localhost":
        return True
    config: dict[str, Any] = (client.info() or {}).get("RegistryConfig") or {}
    indexed = (config.get("IndexConfigs") or {}).get(server)
    if indexed is not None and indexed.get("Secure") is False:
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(c, strict=False) for c in config.get("InsecureRegistryCIDRs") or ())


def _auth(ctx: Context) -> tuple[str, str]:
    registry = ctx.config.registry
    username = registry.username(ctx.config.secrets)
    password = registry.password(ctx.config.secrets)
    return (
        username.reveal() if isinstance(username, Secret) else str(username or ""),
        password.reveal() if isinstance(password, Secret) else str(password or ""),
    )


def push_multiarch(
    ctx: Context,
    image: str,
    latest: str,
    secrets: Mapping[str, Secret],
    *,
    no_cache: bool,
    command: str,
    build: Build,
) -> None:
    """Each arch built and pushed on its engine, then the manifest list as ``image`` and ``latest``."""
    arches = ctx.config.builder.arches
    with open_engines(ctx) as engines:  # refused here, before any hook or build, without an engine per arch
        if ctx.config.registry.local:
            ensure_local_registry(ctx)
        run_hook(ctx, "pre-build", command=command, subcommand="push" if command == "build" else None)
        for arch in arches:
            engine = engines[arch]
            with local_registry_forwards(ctx, [engine.ssh_host] if engine.ssh_host else [], engine.ssh_pool):
                build(ctx, engine, f"{image}-{arch}", (), secrets, no_cache=no_cache, arch=arch)
        put_manifest_list(ctx, engines[arches[0]], image, [latest], arches)


def put_manifest_list(
    ctx: Context, engine: BuildEngine, image: str, also: Sequence[str], arches: Sequence[str]
) -> None:
    server, repository, tag = split_image(image)
    username, password = _auth(ctx)
    api = RegistryApi(server, username, password, insecure=engine_trusts_http(engine.client, server))
    try:
        entries = []
        for arch in arches:
            digest, size, media_type = api.manifest(repository, f"{tag}-{arch}")
            entries.append(Entry(arch, digest, size, media_type))
        for reference in (image, *also):
            api.put_index(repository, reference.rpartition(":")[2], entries)
    except RegistryApiError as error:
        raise ManifestError(f"the manifest list of {image}: {error}") from None
