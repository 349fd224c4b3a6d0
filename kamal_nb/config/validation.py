"""Kamal 2.12's configuration validator: same walk, same order, same messages.

Behaviour ported from lib/kamal/configuration/validator.rb and validator/*.rb. The generic walker
compares a section with its example document (kamal_nb.config.schema): unknown keys are errors,
and each value must have the type of the example value, with a few keys special-cased by name.
Section validators add the checks that cannot be read off an example. Errors carry Kamal's slash
path context (``servers/web/options/restart: …``) exactly, because users grep for them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from types import EllipsisType
from typing import NoReturn

from kamal_nb.config.errors import ConfigError
from kamal_nb.config.schema import ANY, BUILT_IN_COMMANDS, Example
from kamal_nb.ruby.values import RubySymbol, is_blank, is_present, is_stringish, is_truthy, ruby_to_s


class ValidationError(ConfigError):
    """A config Kamal rejects. ``message`` is exactly Kamal's text (what conformance compares).

    ``str()`` adds the config file, the key when Kamal's message does not start with it (e.g.
    ``Must retain at least 1 container [retain_containers]``), and Kamal 1 migration hints.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str | None = None,
        path: str | None = None,
        hints: Sequence[str] = (),
        kamal_class: str | None = None,
    ) -> None:
        self.message = message
        self.key = key
        self.hints = tuple(hints)
        shown = message if key is None or message.startswith(f"{key}:") else f"{message} [{key}]"
        lines = "\n".join([shown, *(f"  hint: {hint}" for hint in self.hints)])
        super().__init__(lines, path=path, kamal_class=kamal_class)

    @property
    def key_path(self) -> str:
        """The slash path of the key at fault (from Kamal's message context, or given)."""
        if self.key is not None:
            return self.key
        head = self.message.split(": ", 1)[0]
        return head if " " not in head else ""

    def located(self, path: str, hints: Sequence[str] = ()) -> ValidationError:
        hints = (*self.hints, *hints)
        return ValidationError(self.message, key=self.key, path=path, hints=hints, kamal_class=self.kamal_class)


# The Ruby classes Kamal's messages talk about.
class _Type:
    STRING = "a string"
    INTEGER = "an integer"
    BOOLEAN = "a boolean"
    ARRAY = "an array"
    HASH = "a hash"
    NIL = "a nilclass"
    SYMBOL = "a symbol"


def _example_type(example: Example) -> str:
    if isinstance(example, bool):
        return _Type.BOOLEAN
    if isinstance(example, int):
        return _Type.INTEGER
    if isinstance(example, str):
        return _Type.STRING
    if isinstance(example, list):
        return _Type.ARRAY
    return _Type.HASH


def _is_valid_type(value: object, type_: str) -> bool:
    if type_ == _Type.STRING:
        return is_stringish(value)
    if type_ == _Type.INTEGER:
        return isinstance(value, int) and not isinstance(value, bool)
    if type_ == _Type.BOOLEAN:
        return isinstance(value, bool)
    if type_ == _Type.ARRAY:
        return isinstance(value, list)
    if type_ == _Type.HASH:
        return isinstance(value, dict)
    if type_ == _Type.SYMBOL:
        return isinstance(value, RubySymbol)
    return value is None


def _key_name(key: object) -> str:
    return ruby_to_s(key)


class Validator:
    """The generic walk: ``Kamal::Configuration::Validator``."""

    allow_extensions = False

    def __init__(self, config: object, *, example: Example, context: str) -> None:
        self.config = config
        self.example = example
        self.context = context

    def validate(self) -> None:
        self.validate_against_example(self.config, self.example)

    # -- the walk --------------------------------------------------------------------------------

    def validate_against_example(self, config: object, example: Example) -> None:
        self.validate_type(config, _example_type(example))
        if not isinstance(example, dict):
            return
        assert isinstance(config, dict)
        self.check_unknown_keys(config, example)
        for key, value in config.items():
            if self.is_extension(key):
                continue
            with self.with_context(key):
                self._validate_value(key, value, example[_key_name(key)])

    def _validate_value(self, key: object, value: object, example_value: Example) -> None:
        name = _key_name(key)
        if isinstance(example_value, EllipsisType):
            if not (name == "proxy" and isinstance(value, bool)):
                if name == "servers" and self.allow_extensions:  # only the root has a `servers` hash
                    self.validate_type(value, _Type.ARRAY, _Type.HASH)
                else:
                    self.validate_type(value, _Type.HASH)
        elif name == "ssl":
            self.validate_type(value, _Type.BOOLEAN, _Type.HASH)
        elif name == "hooks_output":
            self.validate_hooks_output(value)
        elif name == "hosts" and isinstance(key, str):
            self.validate_servers(value)
        elif isinstance(example_value, list):
            first = _example_type(example_value[0])
            if name == "arch":
                self.validate_array_of_or_type(value, first)
            elif name == "config":
                self.validate_ssh_config(value)
            elif name in ("files", "directories"):
                self.validate_paths(value)
            else:
                self.validate_array_of(value, first)
        elif isinstance(example_value, dict):
            if name in ("options", "args"):
                self.validate_type(value, _Type.HASH)
            elif name == "labels":
                self.validate_hash_of(value, _example_type(next(iter(example_value.values()))))
            else:
                self.validate_against_example(value, example_value)
        else:
            self.validate_type(value, _example_type(example_value))

    # -- typed checks ----------------------------------------------------------------------------

    def validate_type(self, value: object, *types: str) -> None:
        if not any(_is_valid_type(value, type_) for type_ in types):
            self.type_error(*types)

    def validate_array_of_or_type(self, value: object, type_: str) -> None:
        try:
            if isinstance(value, list):
                self.validate_array_of(value, type_)
            else:
                self.validate_type(value, type_)
        except ValidationError:
            self.type_error(_Type.ARRAY, type_)

    def validate_array_of(self, array: object, type_: str) -> None:
        self.validate_type(array, _Type.ARRAY)
        assert isinstance(array, list)
        for index, value in enumerate(array):
            with self.with_context(index):
                self.validate_type(value, type_)

    def validate_hash_of(self, mapping: object, type_: str) -> None:
        self.validate_type(mapping, _Type.HASH)
        assert isinstance(mapping, dict)
        for key, value in mapping.items():
            with self.with_context(key):
                self.validate_type(value, type_)

    def validate_servers(self, servers: object) -> None:
        self.validate_type(servers, _Type.ARRAY)
        assert isinstance(servers, list)
        for index, server in enumerate(servers):
            with self.with_context(index):
                self.validate_type(server, _Type.STRING, _Type.HASH)
                if isinstance(server, dict):
                    if len(server) != 1:
                        self.error("multiple hosts found")
                    host, tags = next(iter(server.items()))
                    with self.with_context(host):
                        self.validate_type(tags, _Type.STRING, _Type.ARRAY)
                        if isinstance(tags, list):
                            self.validate_array_of(tags, _Type.STRING)

    def validate_ssh_config(self, config: object) -> None:
        if isinstance(config, list):
            self.validate_array_of(config, _Type.STRING)
        elif not isinstance(config, bool | str):
            self.type_error(_Type.BOOLEAN, _Type.BOOLEAN, _Type.STRING, _Type.ARRAY)

    def validate_paths(self, paths: object) -> None:
        self.validate_type(paths, _Type.ARRAY)
        assert isinstance(paths, list)
        for index, path in enumerate(paths):
            with self.with_context(index):
                self.validate_type(path, _Type.STRING, _Type.HASH)
                if isinstance(path, dict):
                    for key in ("local", "remote", "mode", "owner", "options"):
                        with self.with_context(key):
                            if key in path:
                                self.validate_type(path[key], _Type.STRING)

    def validate_hooks_output(self, value: object) -> None:
        # A level (String/Symbol), or a hash of hook name => level.
        if isinstance(value, dict):
            for hook, level in value.items():
                with self.with_context(hook):
                    self.validate_type(level, _Type.STRING, _Type.SYMBOL)
        else:
            self.validate_type(value, _Type.STRING, _Type.SYMBOL)

    def validate_labels(self, labels: object) -> None:
        if is_blank(labels):
            return
        assert isinstance(labels, dict)
        with self.with_context("labels"):
            for key in labels:
                with self.with_context(key):
                    if key in ("destination", "role", "service"):
                        self.error("invalid label. destination, role, and service are reserved labels")

    def validate_docker_options(self, options: object) -> None:
        if not isinstance(options, dict):
            return
        for key, value in options.items():
            if _key_name(key) == "restart":
                self.validate_restart_policy(value)
                return

    def validate_restart_policy(self, policy: object) -> None:
        with self.with_context("options/restart"):
            if not isinstance(policy, str):
                self.error('should be a string. Use "no" to disable restarts')
            if not re.fullmatch(r"(?:no|always|unless-stopped|on-failure(?::\d+)?)", policy):
                self.error("should be no, always, unless-stopped, on-failure, or on-failure:N")

    # -- errors and context ----------------------------------------------------------------------

    def error(self, message: str) -> NoReturn:
        prefix = f"{self.context}: " if is_present(self.context) else ""
        raise ValidationError(f"{prefix}{message}")

    def type_error(self, *types: str) -> NoReturn:
        descriptions = list(dict.fromkeys(types))
        self.error(f"should be {' or '.join(descriptions)}")

    def unknown_keys_error(self, keys: Sequence[object]) -> NoReturn:
        noun = "key" if len(keys) == 1 else "keys"
        self.error(f"unknown {noun}: {', '.join(_key_name(key) for key in keys)}")

    @contextmanager
    def with_context(self, context: object) -> Iterator[None]:
        old = self.context
        parts = [part for part in (old, context) if is_present(part)]
        self.context = "/".join(ruby_to_s(part) for part in parts)
        try:
            yield
        finally:
            self.context = old

    def is_extension(self, key: object) -> bool:
        return ruby_to_s(key).startswith("x-")

    def check_unknown_keys(self, config: Mapping[object, object], example: Mapping[str, Example]) -> None:
        unknown = [key for key in config if not (isinstance(key, str) and key in example)]
        if self.allow_extensions:
            unknown = [key for key in unknown if not self.is_extension(key)]
        if unknown:
            self.unknown_keys_error(unknown)


class ConfigurationValidator(Validator):
    """The root document: the only place ``x-`` extension keys are allowed."""

    allow_extensions = True


class ServersValidator(Validator):
    def validate(self) -> None:
        self.validate_type(self.config, _Type.ARRAY, _Type.HASH, _Type.NIL)
        if isinstance(self.config, list):
            self.validate_servers(self.config)


class RoleValidator(Validator):
    def validate(self) -> None:
        self.validate_type(self.config, _Type.ARRAY, _Type.HASH)
        if isinstance(self.config, list):
            self.validate_servers(self.config)
        else:
            assert isinstance(self.config, dict)
            super().validate()
            self.validate_labels(self.config.get("labels"))
            self.validate_docker_options(self.config.get("options"))


class EnvValidator(Validator):
    """Either a plain hash of clear values, or ``clear``/``secret``/``tags`` (tags at the root only)."""

    SPECIAL_KEYS = ("clear", "secret", "tags")

    def validate(self) -> None:
        assert isinstance(self.config, dict)
        if any(key in self.SPECIAL_KEYS for key in self.config):
            self._validate_complex()
        else:
            self.validate_hash_of(self.config, _Type.STRING)

    def _validate_complex(self) -> None:
        assert isinstance(self.config, dict)
        unknown = [key for key in self.config if key not in self.SPECIAL_KEYS]
        if unknown:
            self.unknown_keys_error(unknown)
        if "clear" in self.config:
            with self.with_context("clear"):
                self.validate_hash_of(self.config["clear"], _Type.STRING)
        if "secret" in self.config:
            with self.with_context("secret"):
                self.validate_array_of(self.config["secret"], _Type.STRING)
        if "tags" in self.config:
            self._validate_tags(self.config["tags"])

    def _validate_tags(self, tags: object) -> None:
        if self.context != "env":
            self.error("tags are only allowed in the root env")
        with self.with_context("tags"):
            self.validate_type(tags, _Type.HASH)
            assert isinstance(tags, dict)
            for tag, value in tags.items():
                with self.with_context(tag):
                    self.validate_type(value, _Type.HASH)
                    EnvValidator(value, example=self.example, context=self.context).validate()


class RegistryValidator(Validator):
    """``username``/``password``: a string, or a one-item array naming a secret; optional for localhost."""

    CREDENTIAL_KEYS = ("username", "password")

    def validate(self) -> None:
        assert isinstance(self.config, dict) and isinstance(self.example, dict)
        others = {k: v for k, v in self.config.items() if k not in self.CREDENTIAL_KEYS}
        example = {k: v for k, v in self.example.items() if k not in self.CREDENTIAL_KEYS}
        self.validate_against_example(others, example)
        for key in self.CREDENTIAL_KEYS:
            self._validate_credential(key)

    def _validate_credential(self, key: str) -> None:
        assert isinstance(self.config, dict)
        with self.with_context(key):
            if is_local_registry(self.config.get("server")):
                return
            value = self.config.get(key)
            if is_blank(value):
                self.error("is required")
            one_item = isinstance(value, list) and len(value) == 1 and isinstance(value[0], str)
            if not (isinstance(value, str) or one_item):
                self.error("should be a string or an array with one string (for secret lookup)")


def is_local_registry(server: object) -> bool:
    # Kamal matches the Ruby pattern "^localhost[:$]": a port is required, `$` is a literal here.
    return isinstance(server, str) and re.search(r"^localhost[:$]", server, re.MULTILINE) is not None


class AccessoryValidator(Validator):
    HOST_KEYS = ("host", "hosts", "role", "roles", "tag", "tags")

    def validate(self) -> None:
        super().validate()
        assert isinstance(self.config, dict)
        if sum(1 for key in self.config if key in self.HOST_KEYS) != 1:
            self.error("specify one of `host`, `hosts`, `role`, `roles`, `tag` or `tags`")
        self.validate_labels(self.config.get("labels"))
        self.validate_docker_options(self.config.get("options"))


class BuilderValidator(Validator):
    def validate(self) -> None:
        super().validate()
        assert isinstance(self.config, dict)
        cache = self.config.get("cache")
        cache_type = cache.get("type") if isinstance(cache, dict) else None
        if is_truthy(cache_type) and cache_type not in ("gha", "registry"):
            self.error(f"Invalid cache type: {ruby_to_s(cache_type)}")
        arch = self.config.get("arch")
        if is_blank(arch):
            self.error("Builder arch not set")
        if is_truthy(self.config.get("pack")) and isinstance(arch, list) and len(arch) > 1:
            self.error("buildpacks only support building for one arch")
        if self.config.get("local") is False and is_blank(self.config.get("remote")):
            self.error("Cannot disable local builds, no remote is set")


class ProxyValidator(Validator):
    def validate(self) -> None:
        if self.config is None:
            return
        super().validate()
        config = self.config
        assert isinstance(config, dict)
        if is_blank(config.get("host")) and is_blank(config.get("hosts")) and is_truthy(config.get("ssl")):
            self.error("Must set a host to enable automatic SSL")
        if "host" in config and "hosts" in config:
            self.error("Specify one of 'host' or 'hosts', not both")
        ssl = config.get("ssl")
        if isinstance(ssl, dict):
            if is_present(ssl.get("certificate_pem")) and is_blank(ssl.get("private_key_pem")):
                self.error("Missing private_key_pem setting (required when certificate_pem is present)")
            if is_present(ssl.get("private_key_pem")) and is_blank(ssl.get("certificate_pem")):
                self.error("Missing certificate_pem setting (required when private_key_pem is present)")
        # Kamal 2.12 also means to check that run/bind_ips are IP addresses, but reads them from the
        # wrong hash (proxy/bind_ips, never set), so no address is ever rejected: same here.
        run = config.get("run")
        if (
            isinstance(run, dict)
            and run.get("publish") is False
            and (
                is_present(run.get("bind_ips")) or is_present(run.get("http_port")) or is_present(run.get("https_port"))
            )
        ):
            self.error("Cannot set http_port, https_port or bind_ips when publish is false")


class AliasValidator(Validator):
    def validate(self) -> None:
        super().validate()
        name = self.context.removeprefix("aliases/")
        if not re.fullmatch(r"[a-z0-9_-]+", name):
            self.error(
                f"Invalid alias name: '{name}'. Must only contain lowercase letters, alphanumeric, "
                "hyphens and underscores."
            )
        if name in BUILT_IN_COMMANDS:
            self.error(f"Alias '{name}' conflicts with a built-in command.")


__all__ = [
    "ANY",
    "AccessoryValidator",
    "AliasValidator",
    "BuilderValidator",
    "ConfigurationValidator",
    "EnvValidator",
    "ProxyValidator",
    "RegistryValidator",
    "RoleValidator",
    "ServersValidator",
    "ValidationError",
    "Validator",
    "is_local_registry",
]
