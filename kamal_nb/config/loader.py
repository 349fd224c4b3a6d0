"""Find, render, parse and merge the config files, then build the Config (``Configuration.create_from``).

``config/deploy.yml`` then ``config/deploy.<destination>.yml``: each rendered as ERB (with
KAMAL_DESTINATION set first, so templates can branch on it), parsed with Psych's rules, and deep-merged
(hashes merge, arrays are replaced). Secrets files are opened lazily by the secrets layer.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from kamal_nb.config.assemble import Source, build_config
from kamal_nb.config.errors import ConfigError
from kamal_nb.config.kamal1_hints import kamal1_hints
from kamal_nb.config.model import Config
from kamal_nb.config.secret_source import SecretsSource
from kamal_nb.config.secrets import DEFAULT_SECRETS_PATH, Secrets
from kamal_nb.config.validation import ValidationError
from kamal_nb.redaction import register_public
from kamal_nb.ruby.file_size import CONFIG_FILE_LIMIT, check_file_size
from kamal_nb.ruby.psych_yaml import load as load_yaml
from kamal_nb.ruby.values import RubySymbol, deep_merge, ruby_to_s

DEFAULT_CONFIG_FILE = "config/deploy.yml"


def load_config(
    config_file: str | os.PathLike[str] = DEFAULT_CONFIG_FILE,
    *,
    destination: str | None = None,
    version: str | None = None,
    root: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    secrets: SecretsSource | None = None,
) -> Config:
    """Load a Kamal config as ``kamal -c FILE -d DEST --version V`` would, from project dir ``root``.

    ``env`` defaults to this process's environment; it is copied, never modified (Kamal sets
    KAMAL_DESTINATION in its own process env; here only the copy handed to templates and secrets
    commands gets it). ``secrets`` replaces the secrets files (tests).
    """
    project = Path(root if root is not None else os.getcwd()).resolve()
    environment = dict(os.environ if env is None else env)
    if destination is not None:
        environment["KAMAL_DESTINATION"] = destination
    else:
        environment.pop("KAMAL_DESTINATION", None)

    files = config_files(project / config_file, destination)
    raw = load_raw_config(files, environment=environment, cwd=str(project))
    secrets_source = secrets if secrets is not None else _secrets(project, raw, destination, environment)
    source = Source(config_files=tuple(str(f) for f in files), root=str(project), environment=environment)
    try:
        config = build_config(raw, secrets=secrets_source, destination=destination, version=version, source=source)
    except ValidationError as error:
        raise error.located(_blame(files, raw, error.key_path), kamal1_hints(raw, project)) from None
    _mark_secrets_and_names(config)
    return config


def _mark_secrets_and_names(config: Config) -> None:
    """Tell redaction which secrets-file values are secrets here (those the configuration uses) and
    which names are the configuration's own, never to be blanked by an equal secret."""
    if isinstance(config.secrets, Secrets):
        config.secrets.use_names([*config.referenced_secret_names, *(config.ssh.key_data or ())])
    names = [config.service, config.image, config.repository, *config.all_hosts, *config.role_names]
    for accessory in config.accessories:
        names += [accessory.name, accessory.service_name, accessory.image, *accessory.hosts]
    register_public([*names, config.registry.server or "", config.destination or ""])


def config_files(config_file: Path, destination: str | None) -> list[Path]:
    """The base file, then the destination's (``deploy.yml`` -> ``deploy.staging.yml``)."""
    files = [config_file]
    if destination is not None:
        name = f"{config_file.stem}.{destination}.yml"
        if "/" in destination or "\\" in destination or not destination:
            # a name, not a path (`-d ../x`): say which file it would be, as Kamal does, and why not
            raise ConfigError(
                f"Configuration file not found in {config_file.parent}/{name} "
                "(a destination is a name such as staging, without /)",
                kamal_class="RuntimeError",
            )
        files.append(config_file.with_name(name))
    return files


def load_raw_config(files: list[Path], *, environment: Mapping[str, str], cwd: str) -> dict[object, object]:
    merged: dict[object, object] = {}
    for file in files:
        merged = deep_merge(merged, _load_file(file, environment=environment, cwd=cwd))
    return merged


def _load_file(file: Path, *, environment: Mapping[str, str], cwd: str) -> dict[object, object]:
    if not file.is_file():
        raise ConfigError(f"Configuration file not found in {file}", kamal_class="RuntimeError")
    check_file_size(file, CONFIG_FILE_LIMIT, kind="configuration file", display_path=str(file))
    try:
        template = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"cannot read config file: {error}", path=str(file)) from None
    rendered = _render_erb(template, path=str(file), env=environment, cwd=cwd)
    document = load_yaml(rendered, path=str(file))
    if not isinstance(document, dict):
        kind = "empty" if document is None else f"a {type(document).__name__}, not a hash of settings"
        raise ConfigError(f"the configuration is {kind}", path=str(file))
    # Kamal symbolizes the root keys: `service:` and `:service:` are the same key.
    return {(key.name if isinstance(key, RubySymbol) else key): value for key, value in document.items()}


def _render_erb(template: str, *, path: str, env: Mapping[str, str], cwd: str) -> str:
    # A template without tags renders to itself in ERB; skip the interpreter entirely then.
    if "<%" not in template:
        return template
    from kamal_nb.ruby import erb  # the Ruby interpreter is loaded only for a config that uses ERB

    return erb.render(template, path=path, env=env, cwd=cwd)


def _secrets(
    project: Path, raw: Mapping[object, object], destination: str | None, env: Mapping[str, str]
) -> SecretsSource:
    setting = raw.get("secrets_path")
    # As written (messages name files the way Kamal does), resolved against the project directory.
    secrets_path = ruby_to_s(setting) if isinstance(setting, str) and setting else DEFAULT_SECRETS_PATH
    return Secrets(secrets_path, destination, env, cwd=project)


def _blame(files: list[Path], raw: Mapping[object, object], key_path: str) -> str:
    """The config file a validation error is about: the last file that sets the key's top-level
    section (a destination file overrides the base), else all the files."""
    head = key_path.split("/", 1)[0]
    if head and head in raw:
        for file in reversed(files):
            try:
                text = file.read_text(encoding="utf-8")
            except OSError:
                continue
            if f"\n{head}:" in f"\n{text}" or f"\n:{head}:" in f"\n{text}":
                return str(file)
        return str(files[0])
    return ", ".join(str(f) for f in files)
