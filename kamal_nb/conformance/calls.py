"""The call table: each Kamal ``Class#method`` a case may name, mapped to kamal_nb's builder.

A receiver maker builds the command object from the case (config, role, host) and the call's
constructor arguments; a method handler calls the builder with the call's arguments plus the
values Kamal would read from the clock, git or randomness, which the case fixes (``Injected``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from kamal_nb.commands import (
    Accessory,
    App,
    Auditor,
    Base,
    Builder,
    Docker,
    Hook,
    Lock,
    Proxy,
    Prune,
    Registry,
    Server,
)
from kamal_nb.commands.builder import BuilderBase, Clone, Cloud, GitCheckout, Hybrid, Local, Pack, Remote
from kamal_nb.commands.env_file import env_file
from kamal_nb.config import Config
from kamal_nb.conformance.call_syntax import Expression, Invocation
from kamal_nb.conformance.kamal_methods import BASE, BUILDER_DELEGATED, KAMAL_COMMAND_METHODS


@dataclass(frozen=True)
class Injected:
    """What Kamal reads from the clock, git, the terminal or SecureRandom, fixed per case."""

    recorded_at: str = "2024-01-01T00:00:00Z"
    performer: str = "kamal@example.com"
    locked_by: str = "Kamal Tester"
    exec_suffix: str = "a1b2c3"
    local_arch: str = "amd64"
    tty: bool = True
    checkout: GitCheckout = field(
        default_factory=lambda: GitCheckout(root="/src/app", revision="0" * 40, pwd="/src/app")
    )


@dataclass(frozen=True)
class Context:
    config: Config
    role: str | None
    host: str | None
    version: str | None
    root: Path
    injected: Injected


class UnsupportedCall(LookupError):
    pass


class KamalRaises(Exception):
    """What Kamal itself raises for this call (so a case can expect the error)."""


Maker = Callable[[Context, Invocation], object]
Handler = Callable[[Context, object, Invocation], object]


# -- receivers -----------------------------------------------------------------------------------


def _app(ctx: Context, inv: Invocation) -> App:
    role = inv.kwargs.get("role", inv.args[0] if inv.args else ctx.role)
    host = inv.kwargs.get("host", ctx.host)
    return App(ctx.config, role=_opt_str(role), host=_opt_str(host))


def _accessory(ctx: Context, inv: Invocation) -> Accessory:
    name = inv.kwargs.get("name", inv.args[0] if inv.args else None)
    return Accessory(ctx.config, name=str(name))


def _auditor(ctx: Context, inv: Invocation) -> Auditor:
    details = {str(k): v for k, v in inv.kwargs.items()}
    return Auditor(ctx.config, recorded_at=ctx.injected.recorded_at, performer=ctx.injected.performer, **details)


def _builder(ctx: Context, inv: Invocation) -> Builder:
    return Builder(ctx.config, local_arch=ctx.injected.local_arch)


def _builder_kind(kind: type[BuilderBase]) -> Maker:
    return lambda ctx, inv: kind(ctx.config, local_arch=ctx.injected.local_arch)


def _proxy(ctx: Context, inv: Invocation) -> Proxy:
    host = inv.kwargs.get("host", ctx.host)
    if host is None:
        raise KamalRaises("Proxy needs a host")
    return Proxy(ctx.config, host=str(host))


def _plain(kind: Callable[[Config], object]) -> Maker:
    return lambda ctx, inv: kind(ctx.config)


RECEIVERS: dict[str, Maker] = {
    "App": _app,
    "Accessory": _accessory,
    "Auditor": _auditor,
    "Builder": _builder,
    "Builder::Local": _builder_kind(Local),
    "Builder::Remote": _builder_kind(Remote),
    "Builder::Hybrid": _builder_kind(Hybrid),
    "Builder::Cloud": _builder_kind(Cloud),
    "Builder::Pack": _builder_kind(Pack),
    "Docker": _plain(Docker),
    "Hook": _plain(Hook),
    "Lock": _plain(Lock),
    "Proxy": _proxy,
    "Prune": _plain(Prune),
    "Registry": _plain(Registry),
    "Server": _plain(Server),
    # Not a command class: the role's env file content, which Kamal uploads before `docker run`.
    "Role": lambda ctx, inv: ("Role", str(inv.args[0]) if inv.args else ctx.role),
    # Not a command class either: the configuration itself, loaded from a file of the case.
    "Configuration.create_from": lambda ctx, inv: _create_from(ctx, inv),
}


def _create_from(ctx: Context, inv: Invocation) -> Config:
    """``Kamal::Configuration.create_from(config_file:, destination:, version:)``, in the case's root."""
    from kamal_nb.config import load_config

    config_file = inv.kwargs.get("config_file", "config/deploy.yml")
    destination = inv.kwargs.get("destination")
    version = inv.kwargs.get("version")  # as in Kamal: not the case's version
    return load_config(
        str(config_file),
        destination=_opt_str(destination),
        version=_opt_str(version),
        root=ctx.root,
        env=dict(ctx.config.environment),
    )


def resolve(ctx: Context, value: object) -> object:
    """An argument as the test's Ruby would have it: a method chain on `config` is evaluated on the
    case's configuration (`config.accessory("db").registry`); literals stay as they are."""
    if isinstance(value, list):
        return [resolve(ctx, item) for item in value]
    if not isinstance(value, Expression):
        return value
    head, *rest = value.chain
    if head.name != "config" or head.args or head.kwargs:
        raise UnsupportedCall(f"argument {head.name}")
    current: object = ctx.config
    for link in rest:
        args = [resolve(ctx, arg) for arg in link.args]
        if isinstance(current, Config) and link.name in ("accessory", "role"):
            found = getattr(current, link.name)(str(args[0]))
            if found is None:
                raise KamalRaises(f"no {link.name} {args[0]!r}")
            current = found
            continue
        member = getattr(current, _py(link.name), None)
        if member is None:
            raise UnsupportedCall(f"argument method {link.name}")
        current = member(*args) if callable(member) else member
    return current


def _resolved(ctx: Context, inv: Invocation) -> Invocation:
    return Invocation(
        inv.name,
        tuple(resolve(ctx, arg) for arg in inv.args),
        {key: resolve(ctx, value) for key, value in inv.kwargs.items()},
    )


BUILDER_CLASSES = ("Builder::Local", "Builder::Remote", "Builder::Hybrid", "Builder::Cloud", "Builder::Pack")
COMMAND_CLASSES = tuple(name for name in RECEIVERS if name not in ("Role", "Configuration.create_from"))


# -- handlers ------------------------------------------------------------------------------------


def call(py_name: str, inject: Callable[[Context], Mapping[str, object]] | None = None) -> Handler:
    """Call ``py_name`` on the receiver with the case's arguments (plus injected values)."""

    def handler(ctx: Context, receiver: object, inv: Invocation) -> object:
        extra = dict(inject(ctx)) if inject else {}
        kwargs = {str(k): v for k, v in inv.kwargs.items()}
        return getattr(receiver, py_name)(*inv.args, **kwargs, **extra)

    return handler


def attribute(py_name: str) -> Handler:
    return lambda ctx, receiver, inv: getattr(receiver, py_name)


def _tty(ctx: Context) -> Mapping[str, object]:
    return {"tty": ctx.injected.tty}


def _exec_new(ctx: Context) -> Mapping[str, object]:
    return {"exec_suffix": ctx.injected.exec_suffix, "tty": ctx.injected.tty}


def _exec_new_over_ssh(ctx: Context) -> Mapping[str, object]:
    return {"exec_suffix": ctx.injected.exec_suffix}


def _tags(ctx: Context) -> Mapping[str, object]:
    return {"recorded_at": ctx.injected.recorded_at, "performer": ctx.injected.performer}


def _lock(ctx: Context) -> Mapping[str, object]:
    return {"locked_by": ctx.injected.locked_by, "locked_at": ctx.injected.recorded_at}


def _on_base(py_name: str) -> Handler:
    """Base methods on the Builder facade, which in Kamal is a Base too."""
    return lambda ctx, receiver, inv: call(py_name)(ctx, Base(ctx.config), inv)


def _on_target(ruby_name: str) -> Handler:
    def handler(ctx: Context, receiver: object, inv: Invocation) -> object:
        assert isinstance(receiver, Builder)
        target = receiver.target
        found = METHODS.get((_kamal_class(target), ruby_name))
        if found is None:
            raise KamalRaises(
                f"undefined method `{ruby_name}' for an instance of Kamal::Commands::{_kamal_class(target)}"
            )
        return found(ctx, target, inv)

    return handler


def _on_clone(py_name: str) -> Handler:
    """Kamal's Builder includes Clone; here the clone commands need the (injected) git checkout."""

    def handler(ctx: Context, receiver: object, inv: Invocation) -> object:
        return call(py_name)(ctx, Clone(ctx.config, ctx.injected.checkout), inv)

    return handler


def _hook_exists(ctx: Context, receiver: object, inv: Invocation) -> bool:
    assert isinstance(receiver, Hook)
    return (ctx.root / receiver.hook_file(str(inv.args[0]))).exists()


def _ensure_local_file_present(ctx: Context, receiver: object, inv: Invocation) -> None:
    local_file = str(inv.args[0])
    if not (ctx.root / local_file).exists():
        raise KamalRaises(f"Missing file: {local_file}")


def _role_secrets_io(ctx: Context, receiver: object, inv: Invocation) -> object:
    assert isinstance(receiver, tuple)
    host = str(inv.args[0]) if inv.args else ctx.host
    if host is None:
        raise KamalRaises("secrets_io needs a host")
    return env_file(ctx.config.role_secret_env(str(receiver[1]), host))


def _role_env_args(ctx: Context, receiver: object, inv: Invocation) -> object:
    """``Role#env_args(host)``: ``--env K="V"`` for clear values, ``--env-file`` for the secrets."""
    from kamal_nb.commands.docker_args import role_env_args

    assert isinstance(receiver, tuple)
    role = ctx.config.role(str(receiver[1]))
    host = str(inv.args[0]) if inv.args else ctx.host
    if role is None or host is None:
        raise KamalRaises(f"env_args needs a role and a host ({receiver[1]!r}, {host!r})")
    return role_env_args(ctx.config, role, host)


# Readers of Kamal::Configuration that tests call on a loaded configuration.
_CONFIGURATION_READERS = {
    "all_hosts": "all_hosts",
    "primary_host": "primary_host",
    "service": "service",
    "image": "image",
    "repository": "repository",
    "absolute_image": "absolute_image",
    "latest_image": "latest_image",
    "service_with_version": "service_with_version",
    "version": "version",
    "destination": "destination",
    "require_destination?": "require_destination",
    "allow_empty_roles?": "allow_empty_roles",
    "retain_containers": "retain_containers",
    "readiness_delay": "readiness_delay",
    "deploy_timeout": "deploy_timeout",
    "drain_timeout": "drain_timeout",
    "hooks_path": "hooks_path",
    "secrets_path": "secrets_path",
    "asset_path": "asset_path",
    "run_directory": "run_directory",
    "apps_directory": "apps_directory",
    "app_directory": "app_directory",
    "env_directory": "env_directory",
    "roles": "role_names",
    "accessories": "accessory_names",
    "to_h": "to_h",
}


def _config_reader(py_name: str) -> Handler:
    def handler(ctx: Context, receiver: object, inv: Invocation) -> object:
        assert isinstance(receiver, Config)
        if py_name == "to_h":
            from kamal_nb.cli_config import config_view

            return {key.name: value for key, value in config_view(receiver).items()}
        if py_name == "accessory_names":
            return [accessory.name for accessory in receiver.accessories]
        value = getattr(receiver, py_name)
        return value(*inv.args) if callable(value) else value

    return handler


_RUBY_TO_PYTHON = {
    "installed?": "installed",
    "running?": "running",
    "superuser?": "superuser",
    "root?": "root",
    "in_docker_group?": "in_docker_group",
    "local?": "local",
    "login_to_registry_locally?": "login_to_registry_locally",
}


def _py(ruby_name: str) -> str:
    return _RUBY_TO_PYTHON.get(ruby_name, ruby_name)


def _build_table() -> dict[tuple[str, str], Handler]:
    table: dict[tuple[str, str], Handler] = {}
    for cls in COMMAND_CLASSES:
        for method in BASE:
            table[(cls, method)] = _on_base(method) if cls == "Builder" else call(method)
    simple = ("App", "Accessory", "Auditor", "Docker", "Lock", "Proxy", "Prune", "Registry", "Server", "Hook")
    for cls in simple:
        for method in KAMAL_COMMAND_METHODS[cls]:
            table[(cls, method)] = call(_py(method))
    # Values Kamal reads from the terminal, SecureRandom, the clock or git.
    table[("App", "execute_in_existing_container")] = call("execute_in_existing_container", _tty)
    table[("App", "execute_in_new_container")] = call("execute_in_new_container", _exec_new)
    table[("App", "execute_in_new_container_over_ssh")] = call("execute_in_new_container_over_ssh", _exec_new_over_ssh)
    table[("Accessory", "execute_in_existing_container")] = call("execute_in_existing_container", _tty)
    table[("Accessory", "execute_in_new_container")] = call("execute_in_new_container", _tty)
    table[("Accessory", "ensure_local_file_present")] = _ensure_local_file_present
    table[("Lock", "acquire")] = call("acquire", _lock)
    table[("Hook", "env")] = call("env", _tags)
    table[("Hook", "hook_exists?")] = _hook_exists
    # Builders: each concrete class gets Builder::Base's methods and its own (Hybrid < Remote).
    for cls in BUILDER_CLASSES:
        for method in KAMAL_COMMAND_METHODS["Builder::Base"]:
            table[(cls, method)] = call(_py(method))
        own = KAMAL_COMMAND_METHODS[cls]
        if cls == "Builder::Hybrid":
            own = (*KAMAL_COMMAND_METHODS["Builder::Remote"], *own)
        for method in own:
            table[(cls, method)] = call(_py(method))
    table[("Builder", "name")] = attribute("name")
    for name in ("target", "remote", "local", "hybrid", "pack", "cloud"):
        table[("Builder", name)] = attribute(name)
    for ruby, prop in (("local?", "is_local"), ("remote?", "is_remote"), ("pack?", "is_pack"), ("cloud?", "is_cloud")):
        table[("Builder", ruby)] = attribute(prop)
    for method in BUILDER_DELEGATED:
        table[("Builder", method)] = _on_target(method)
    for method in KAMAL_COMMAND_METHODS["Builder::Clone"]:
        table[("Builder", method)] = _on_clone(method)
    table[("Role", "secrets_io")] = _role_secrets_io
    table[("Role", "env_args")] = _role_env_args
    for ruby_name, py_name in _CONFIGURATION_READERS.items():
        table[("Configuration", ruby_name)] = _config_reader(py_name)
    table[("Accessory", "secrets_io")] = call("secrets_io")
    table[("Accessory", "secrets_path")] = attribute("secrets_path")
    table[("App", "secrets_path")] = attribute("secrets_path")
    table[("App", "container_name")] = call("container_name")
    return table


METHODS = _build_table()


def _kamal_class(receiver: object) -> str:
    if isinstance(receiver, BuilderBase):
        return f"Builder::{type(receiver).__name__}"
    if isinstance(receiver, tuple):
        return "Role"
    if isinstance(receiver, Config):
        return "Configuration"
    return type(receiver).__name__


# Ruby conveniences a test chains after the call; they do not change the command.
PASSTHROUGH = {"read", "join", "to_s", "string"}


def evaluate(ctx: Context, receiver_inv: Invocation, methods: tuple[Invocation, ...]) -> object:
    maker = RECEIVERS.get(receiver_inv.name)
    if maker is None:
        raise UnsupportedCall(receiver_inv.name)
    result: object = maker(ctx, _resolved(ctx, receiver_inv))
    for inv in methods:
        if inv.name in PASSTHROUGH and inv is not methods[0]:
            continue
        handler = METHODS.get((_kamal_class(result), inv.name))
        if handler is None:
            raise UnsupportedCall(f"{_kamal_class(result)}#{inv.name}")
        result = handler(ctx, result, _resolved(ctx, inv))
    return result


def known_calls() -> set[tuple[str, str]]:
    return set(METHODS)


def _opt_str(value: object) -> str | None:
    return None if value is None else str(value)


__all__ = ["METHODS", "RECEIVERS", "Context", "Injected", "KamalRaises", "UnsupportedCall", "evaluate"]
