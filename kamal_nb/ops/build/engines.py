"""Which Docker engine builds the image, and opening it: the local one (``DOCKER_HOST``, else the
default socket) or ``builder.remote``'s, reached over kamal_nb's own SSH connection to that host.

Kamal's choice, without buildx: the arches ``builder.arch`` asks for are split into local arches
(the machine's own, unless ``builder.local: false``) and remote arches (the rest, when there is a
``builder.remote``). A single arch is built where it falls (``open_engine``); several (multi-arch,
hybrid) each on an engine of that arch (``open_engines``, kamal_nb.ops.build.multiarch).
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamal_nb.build_engine.remote import (
    EngineBridge,
    RemoteEngineError,
    SshEngine,
    check_engine,
    dial,
    engine_arch,
    parse_ssh_url,
)
from kamal_nb.config.assemble import local_docker_arch
from kamal_nb.engine.errors import OperationError
from kamal_nb.ops.session import Context

if TYPE_CHECKING:
    import docker

NOWHERE_TO_BUILD = (
    "Nothing to build on: {reason}. Set builder.remote (ssh://USER@HOST) in {config}, start Docker here "
    "(or point DOCKER_HOST at an engine), or deploy a version already pushed with -P/--skip-push --version VERSION"
)


class EngineUnavailable(OperationError):
    """No engine can build the image as configured (the message says what to do)."""


@dataclass(frozen=True)
class EnginePlan:
    """Which engine builds which arch: ``{"local": (...), "remote": (...)}``, and where remote is."""

    local_arches: tuple[str, ...]
    remote_arches: tuple[str, ...]
    remote: str | None

    @property
    def remote_builds(self) -> bool:
        return bool(self.remote_arches) or (not self.local_arches and self.remote is not None)

    def lines(self) -> list[str]:
        out = []
        if self.local_arches or not self.remote_builds:
            out.append(f"local engine builds: {', '.join(self.local_arches) or 'its own arch'}")
        if self.remote_builds:
            out.append(f"remote engine {self.remote} builds: {', '.join(self.remote_arches) or 'its own arch'}")
        return out


def engine_split(ctx: Context) -> EnginePlan:
    """Which arches build on this machine's engine and which on builder.remote."""
    builder = ctx.config.builder
    arch = local_docker_arch()
    return EnginePlan(builder.local_arches(arch), builder.remote_arches(arch), builder.remote)


@dataclass
class BuildEngine:
    """An open engine: ``url`` is the DOCKER_HOST-like address the SDK and the BuildKit session use
    (None: the default local socket)."""

    url: str | None
    name: str
    remote: bool
    client: docker.DockerClient
    arch: str = ""
    ssh_host: str | None = None  # the host whose SSH connection reaches a remote engine
    ssh_pool: Any = None  # the pool holding that connection (its user and port may be the builder URL's)


def local_docker_host(ctx: Context) -> str | None:
    env = ctx.session.env if ctx.session.env is not None else os.environ
    return env.get("DOCKER_HOST")


def _why(error: BaseException) -> str:
    """The innermost OS error of the SDK's chained exceptions ("No such file or directory")."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, OSError) and seen.strerror:
            return seen.strerror
        seen = seen.__cause__ or seen.__context__
    return str(error).removeprefix("Error while fetching server API version: ")


def _nowhere(ctx: Context, reason: str) -> EngineUnavailable:
    remote = ctx.config.builder.remote
    if remote:  # Kamal builds the machine's own arch here unless told not to
        return EngineUnavailable(
            f"Nothing to build on: {reason}, and {', '.join(engine_split(ctx).local_arches)} is built here "
            f"(this machine's arch). Set builder.local: false to build it on {remote}, start Docker here, "
            "or deploy a version already pushed with -P/--skip-push --version VERSION"
        )
    return EngineUnavailable(NOWHERE_TO_BUILD.format(reason=reason, config=ctx.options.config_file))


def _local(ctx: Context, *, timeout: int) -> BuildEngine:
    import docker

    host = local_docker_host(ctx)
    where = host or "the default socket (/var/run/docker.sock)"
    try:
        client = (
            docker.DockerClient(base_url=host, timeout=timeout)
            if host
            else docker.DockerClient.from_env(timeout=timeout)
        )
    except docker.errors.DockerException as error:
        raise _nowhere(ctx, f"the local Docker engine at {where} does not answer ({_why(error)})") from None
    return BuildEngine(host, f"local engine ({host or 'default socket'})", False, client)


@contextlib.contextmanager
def _remote(ctx: Context, url: str, *, timeout: int) -> Iterator[BuildEngine]:
    import docker

    from kamal_nb.fleet.pool import ConnectionPool, HostUnreachable

    if "://" not in url or url.split("://", 1)[0] not in ("ssh", "tcp", "unix", "http"):
        raise EngineUnavailable(f"builder.remote {url}: kamal_nb builds on ssh://USER@HOST[:PORT] or tcp:// engines")
    settings = ctx.runner.settings
    try:
        target = parse_ssh_url(url, default_user=settings.user)
    except RemoteEngineError as error:
        raise EngineUnavailable(str(error)) from None
    if target is None:  # tcp:// or unix://: the SDK and the session reach it as they reach DOCKER_HOST
        try:
            client = docker.DockerClient(base_url=url, timeout=timeout)
        except docker.errors.DockerException as error:
            raise EngineUnavailable(f"cannot reach the Docker engine at builder.remote {url}: {_why(error)}") from None
        try:
            version = _checked(client, url, [])
            yield BuildEngine(url, f"remote engine {url}", True, client, engine_arch(version))
        finally:
            client.close()
        return
    runner = ctx.runner
    if (target.user, target.port) != (settings.user, settings.port):
        runner = ctx.session.runner(dataclasses.replace(settings, user=target.user, port=target.port))
    pool = runner.pool
    if not isinstance(pool, ConnectionPool):
        raise EngineUnavailable(f"builder.remote {url}: a remote builder needs SSH hosts, not the sandbox backend")
    try:
        transport = pool.get(target.host).transport
    except HostUnreachable as error:
        raise EngineUnavailable(f"remote builder {url}: {error}") from None
    with EngineBridge(lambda: dial(transport, settings.connect_timeout), target.where) as bridge:
        client = _bridge_client(bridge, target, timeout)
        try:
            version = _checked(client, target.where, bridge.errors)
            arch = engine_arch(version)
            yield BuildEngine(bridge.url, f"remote engine {url}", True, client, arch, target.host, pool)
        finally:
            client.close()


def _bridge_client(bridge: EngineBridge, target: SshEngine, timeout: int) -> docker.DockerClient:
    import docker

    try:
        return docker.DockerClient(base_url=bridge.url, timeout=timeout)
    except docker.errors.DockerException as error:
        said = bridge.errors[-1] if bridge.errors else _why(error)  # what the host said is clearer
        raise EngineUnavailable(f"cannot reach the Docker engine of {target.where}: {said}") from None


def _checked(client: docker.DockerClient, where: str, errors: list[str]) -> dict[str, Any]:
    try:
        return check_engine(client, where, errors)
    except RemoteEngineError as error:
        raise EngineUnavailable(str(error)) from None


@contextlib.contextmanager
def open_engine(ctx: Context, *, timeout: int = 600) -> Iterator[BuildEngine]:
    """The engine that builds the (single) arch this config asks for, open for the build and push."""
    plan = engine_split(ctx)  # one arch: built here or on builder.remote (several: open_engines)
    if plan.remote_builds:
        assert plan.remote is not None
        with _remote(ctx, plan.remote, timeout=timeout) as engine:
            yield engine
        return
    engine = _local(ctx, timeout=timeout)
    try:
        yield engine
    finally:
        engine.client.close()


@contextlib.contextmanager
def open_engines(ctx: Context, *, timeout: int = 600) -> Iterator[dict[str, BuildEngine]]:
    """A multi-arch build's engines by arch: the local one builds the local arches, the remote one
    the remote arches, and each only its own arch (no emulation without buildx): an arch whose
    engine is of another arch is refused in one line, naming it."""
    plan = engine_split(ctx)
    with contextlib.ExitStack() as stack:
        engines: dict[str, BuildEngine] = {}
        if plan.local_arches:
            local = _local(ctx, timeout=timeout)
            stack.callback(local.client.close)
            local.arch = engine_arch(_checked(local.client, "this machine", []))
            engines.update(dict.fromkeys(plan.local_arches, local))
        if plan.remote_arches:
            assert plan.remote is not None
            remote = stack.enter_context(_remote(ctx, plan.remote, timeout=timeout))
            engines.update(dict.fromkeys(plan.remote_arches, remote))
        for arch, engine in engines.items():
            if engine.arch != arch:
                where = "builder.remote" if engine.remote else "builder.remote, an engine of that arch"
                raise EngineUnavailable(
                    f"no engine to build {arch} on: the {engine.name} is {engine.arch or 'of an unknown arch'}, "
                    f"and kamal_nb builds each arch on an engine of that arch (no emulation without buildx): "
                    f"set {where} (ssh://USER@HOST of an {arch} host), or leave {arch} out of builder.arch"
                )
        yield engines


# -- the local registry (registry.server: localhost:PORT) -------------------------------------------


class LocalRegistryError(OperationError):
    """The local registry could not be started or reached from a host (one line, naming it)."""


def ensure_local_registry(ctx: Context) -> None:
    """Kamal's ``registry setup`` for a local registry, on this machine, before a build pushes to it."""
    from kamal_nb.commands import Registry
    from kamal_nb.ops.local_exec import run_local

    done = run_local(ctx, Registry(ctx.config).setup())
    if not done.ok:
        said = (done.stderr or done.stdout).strip().splitlines()
        raise LocalRegistryError(
            f"the local registry {ctx.config.registry.server} did not start on this machine's engine"
            f" ({said[-1] if said else f'exit {done.exit_code}'}); see `kamal registry setup`"
        )


@contextlib.contextmanager
def local_registry_forwards(ctx: Context, hosts: list[str] | tuple[str, ...], pool: Any = None) -> Iterator[list[str]]:
    """With a local registry: its port forwarded from each of ``hosts`` to this machine while the
    block runs (the hosts' pulls, a remote engine's push); nothing otherwise. ``pool``: where the
    hosts' connections are (the operation's own by default). Yields a list that, once the block is
    over, holds why a forwarded connection could not reach the registry here (it was not running)."""
    registry = ctx.config.registry
    if not registry.local or not hosts:
        yield []
        return
    from kamal_nb.build_engine.local_registry import registry_forwards
    from kamal_nb.fleet.forward import ForwardError
    from kamal_nb.fleet.pool import ConnectionPool, HostUnreachable

    pool = pool if pool is not None else ctx.runner.pool
    port = registry.local_port
    if not isinstance(pool, ConnectionPool) or port is None:
        raise LocalRegistryError(f"a local registry ({registry.server}) needs SSH hosts, not the sandbox backend")
    with contextlib.ExitStack() as stack:
        try:
            forwards = stack.enter_context(registry_forwards(pool, hosts, port))
        except (HostUnreachable, ForwardError) as error:
            raise LocalRegistryError(f"forwarding the local registry's port {port}: {error}") from None
        unreachable: list[str] = []
        try:
            yield unreachable
        finally:
            unreachable += [error for forward in forwards.values() for error in forward.errors]
