"""Kamal's secrets: `.kamal/secrets-common` then `.kamal/secrets[.<destination>]`, loaded lazily.

Behaviour ported from Kamal 2.12 (`lib/kamal/secrets.rb`, `lib/kamal/cli/secrets.rb`):

* file names are `<secrets_path>-common` and `<secrets_path>` (or `<secrets_path>.<destination>`,
  and then the plain file is not read); missing files are skipped; later files win;
* each file is parsed on its own by dotenv's rules (dotenv.py), so `$VAR` in one file does not see
  keys of another (only the environment);
* nothing is read or run until a value is asked for; loading happens once, behind a lock, because
  `$(command)` substitutions may be slow or prompt;
* a `$(kamal secrets fetch|extract ...)` substitution runs in-process with `--inline`, as Kamal's
  `InlineCommandSubstitution` does: `fetch` drives the vault's CLI through Kamal's adapter
  (kamal_nb.config.secret_adapters) and gives the JSON shell-escaped, `extract` gives the bare value.

Values come out as `Secret` (kamal_nb.redaction), never as bare strings, and are read as unused:
only a value the configuration uses as a secret (`use_names`, or looked up with `secrets[name]`) is
masked in free text, never one merely present in a file.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamal_nb.config.errors import ConfigError
from kamal_nb.redaction import Secret
from kamal_nb.ruby import dotenv
from kamal_nb.ruby import json_text as ruby_json
from kamal_nb.ruby.strings import shellescape
from kamal_nb.ruby.values import is_blank

if TYPE_CHECKING:
    from kamal_nb.config.secret_adapters import Shell

DEFAULT_SECRETS_PATH = ".kamal/secrets"


class Secrets:
    """The secrets of one configuration and destination, read on first use."""

    def __init__(
        self,
        secrets_path: str | os.PathLike[str] = DEFAULT_SECRETS_PATH,
        destination: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        """`secrets_path` as written in deploy.yml (shown as-is in messages), resolved against `cwd`
        (Kamal's working directory, the project root; default: the process's). `env` is what `$VAR`
        and commands see (default: os.environ at load time)."""
        self._secrets_path = os.fspath(secrets_path)
        self._destination = destination
        self._env = env
        self._cwd = os.fspath(cwd) if cwd is not None else None
        self._lock = threading.Lock()
        self._values: dict[str, Secret] | None = None
        self._used_names: set[str] = set()
        # Problems Kamal silently tolerates (see dotenv.IgnoredFileError), for views to show.
        self.warnings: list[str] = []

    # -- what Kamal reads ----------------------------------------------------------------------
    def filenames(self) -> list[str]:
        """Every file Kamal would look for, in order (Kamal's `secrets_filenames`)."""
        suffix = f".{self._destination}" if self._destination else ""
        return [f"{self._secrets_path}-common", f"{self._secrets_path}{suffix}"]

    def files(self) -> list[str]:
        """The files that exist and are (or will be) read, as named in messages."""
        return [name for name in self.filenames() if os.path.exists(self._resolve(name))]

    @property
    def loaded(self) -> bool:
        return self._values is not None

    # -- values --------------------------------------------------------------------------------
    def use_names(self, names: Iterable[str]) -> None:
        """The names the configuration uses as secrets: their values are masked from the moment the
        files are read (the loader tells this after building the configuration)."""
        self._used_names.update(names)
        if self._values is not None:
            for name in self._used_names & self._values.keys():
                self._values[name].use()

    def __getitem__(self, key: str) -> Secret:
        values = self._load()
        if key in values:
            return values[key].use()
        files = self.files()
        if files:
            raise ConfigError(f"Secret '{key}' not found in {', '.join(files)}")
        raise ConfigError(f"Secret '{key}' not found, no secret files ({', '.join(self.filenames())}) provided")

    def get(self, key: str) -> Secret | None:
        found = self._load().get(key)
        return found.use() if found is not None else None

    def __contains__(self, key: object) -> bool:
        """Whether the key is defined at all (even as an empty value)."""
        return key in self._load()

    def is_present(self, key: str) -> bool:
        """Kamal's `secrets.key?`: defined and not blank (used for ssh.key_data)."""
        value = self._load().get(key)
        return value is not None and not is_blank(value.reveal())

    def keys(self) -> list[str]:
        return list(self._load())

    def to_dict(self) -> dict[str, Secret]:
        return dict(self._load())

    def _load(self) -> dict[str, Secret]:
        values = self._values
        if values is not None:
            return values
        with self._lock:
            if self._values is None:
                values = self._read_all()
                for name in self._used_names & values.keys():
                    values[name].use()
                self._values = values
            return self._values

    def _read_all(self) -> dict[str, Secret]:
        env = dict(os.environ) if self._env is None else self._env
        merged: dict[str, Secret] = {}
        for name in self.files():
            full_path = Path(self._resolve(name))
            if full_path.is_dir():
                continue  # dotenv ignores EISDIR; Kamal still lists the name
            try:
                merged.update(_read_file(full_path, name, env, self._cwd))
            except dotenv.IgnoredFileError as ignored:
                self.warnings.append(f"{ignored}: Kamal ignores the whole file {name} when this happens")
        return merged

    def _resolve(self, name: str) -> str:
        if self._cwd is None or os.path.isabs(name):
            return name
        return os.path.join(self._cwd, name)


# -- `kamal secrets ...` commands --------------------------------------------------------------


def _read_file(path: Path, name: str, env: Mapping[str, str], cwd: str | None) -> dict[str, Secret]:
    """One secrets file's values, wrapped at once: the plain text lives only in this frame and in the
    parser's. A failure is raised afresh from here, without the parser's frames, whose locals hold
    values read so far (`%xmode Verbose` and debuggers print frame locals)."""
    inline = functools.partial(run_inline, env=env, cwd=cwd)
    try:
        # the file's text is never a local of this frame
        parsed = dotenv.parse(
            dotenv.read_dotenv_text(path, display_path=name), path=name, env=env, cwd=cwd, inline_kamal=inline
        )
        return {key: Secret(value, used=False) for key, value in parsed.items()}
    except ConfigError as error:
        fresh = type(error)(error.detail, path=error.path, line=error.line)
        fresh.kamal_class = error.kamal_class
    raise fresh from None


def extract(name: str, secrets_json: str) -> str:
    """`kamal secrets extract NAME SECRETS_JSON --inline`: the value of key NAME, or of the first key
    ending in `/NAME`. The CLI form prints this followed by a newline."""
    try:
        parsed = json.loads(secrets_json)
    except json.JSONDecodeError as error:
        raise ConfigError(f"kamal secrets extract: invalid JSON: {error.msg}") from None
    if not isinstance(parsed, dict):
        raise ConfigError("kamal secrets extract: SECRETS_JSON must be a JSON object")
    value = parsed.get(name)
    if value is None or value is False:
        # Ruby's `parsed[name] || find { ends with /name }`: nil and false fall through.
        value = next((v for k, v in parsed.items() if k.endswith(f"/{name}")), None)
    if value is None:
        raise ConfigError(f"Could not find secret {name}", kamal_class="RuntimeError")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | str):
        return str(value)
    raise ConfigError(f"kamal secrets extract: secret {name} is not a string")


def print_secrets(secrets: Secrets) -> str:
    """`kamal secrets print`: `KEY=VALUE` per secret, values revealed (it is a debugging command)."""
    lines = [f"{key}={value.reveal()}" for key, value in secrets.to_dict().items()]
    # Ruby's puts adds a newline only to lines that do not already end with one.
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


class MissingAccount(ConfigError):
    """`--account` left out for an adapter that needs one. `kamal secrets fetch` only prints this
    message (and exits 0); inside a secrets file it stops the load."""


def fetch(
    secrets: Sequence[str],
    *,
    adapter: str,
    account: str | None = None,
    from_: str | None = None,
    shell: Shell | None = None,
) -> dict[str, Any]:
    """`kamal secrets fetch [SECRETS...] -a ADAPTER [--account A] [--from F]`: what the vault gave,
    name -> value (the command prints it with `fetch_json`). Raises AdapterError as Kamal raises."""
    # imported on use: most runs never fetch from a vault
    from kamal_nb.config import secret_adapters

    chosen = secret_adapters.lookup(adapter, shell)
    if chosen.requires_account and is_blank(account):
        raise MissingAccount("No value provided for required options '--account'")
    return chosen.fetch(list(secrets), account=account, from_=from_)


def fetch_json(results: Mapping[str, Any], *, inline: bool = False) -> str:
    """What `kamal secrets fetch` prints (`JSON.dump`), shell-escaped with `--inline`."""
    text = ruby_json.dump(dict(results))
    return shellescape(text) if inline else text


def run_inline(words: list[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None) -> str:
    """A `$(kamal secrets ...)` substitution, run in-process as Kamal does (`words` after "kamal"),
    with `env` and `cwd` for the vault CLIs. Kamal runs its whole command line here
    (`Kamal::Cli::Main.start(words + ["--inline"])`); secrets_inline reads the same options."""
    from kamal_nb.config import secrets_inline
    from kamal_nb.config.secret_adapters import Shell

    invocation = secrets_inline.parse(words)
    if invocation.command == "extract":
        return extract(invocation.name, invocation.document)
    results = fetch(
        invocation.secrets,
        adapter=invocation.adapter,
        account=invocation.account,
        from_=invocation.from_,
        shell=Shell(env=env, cwd=cwd),
    )
    return fetch_json(results, inline=True)
