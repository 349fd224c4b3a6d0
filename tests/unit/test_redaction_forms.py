"""Redaction masks what the configuration uses as secrets, in every form, and nothing else.

The over-redaction cases come from public configs (issue 21): a service name, an image or a host
that also appears as a value in .kamal/secrets must stay readable. The forms come from issue 16:
Kamal's env-file escaping, shell quoting, JSON escaping, base64 and URL encoding.
"""

from __future__ import annotations

import base64
import json
import shlex
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kamal_nb.commands.quoting import env_file_value, escape_shell_value, shellescape, single_quote_body
from kamal_nb.config import load_config
from kamal_nb.config.errors import ConfigError
from kamal_nb.config.secrets import Secrets
from kamal_nb.redaction import MIN_MASKED_LENGTH, REDACTED, Secret, forget_all, redact, secret_forms


@pytest.fixture(autouse=True)
def clean_registry() -> Iterator[None]:
    forget_all()
    yield
    forget_all()


def _project(tmp_path: Path, deploy_yml: str, secrets: dict[str, str]) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(deploy_yml)
    (tmp_path / ".kamal").mkdir()
    for name, text in secrets.items():
        (tmp_path / ".kamal" / name).write_text(text)
    return tmp_path


_DEPLOY = """service: cube-worlds-bot
image: acme/cube-worlds-bot
servers:
  web: [10.0.0.5]
registry:
  server: registry.example.com
  username: acme
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
env:
  secret: [DATABASE_PASSWORD]
accessories:
  db:
    image: postgres:16
    host: 10.0.0.6
    env:
      secret: [POSTGRES_USER, POSTGRES_PASSWORD]
"""
_SECRETS = (
    "APP=cube-worlds-bot\n"  # present in the file, used by nothing: never masked
    "PRIMARY_HOST=10.0.0.5\n"
    "KAMAL_REGISTRY_PASSWORD=registry-pw-1234\n"
    "DATABASE_PASSWORD=Tr1cky\\\\Secret-Val\n"
    "POSTGRES_USER=postgres\n"
    "POSTGRES_PASSWORD=pg-pw-5678\n"
)


def test_only_values_used_as_secrets_are_masked(tmp_path: Path) -> None:
    config = load_config(root=_project(tmp_path, _DEPLOY, {"secrets": _SECRETS}), version="1", env={"PATH": "/usr/bin"})
    config.check_secrets()
    # the configuration's own names survive, though equal values sit in the secrets file
    for text in (".kamal/cube-worlds-bot-audit.log", "--hostname 10.0.0.5", "KAMAL_HOST=10.0.0.5", "postgres:16"):
        assert redact(text) == text
    # the secrets it uses are masked, as is and in Kamal's env-file form
    assert redact("pw registry-pw-1234") == f"pw {REDACTED}"
    assert redact("POSTGRES_USER=postgres") == f"POSTGRES_USER={REDACTED}"  # a secret position
    assert redact("DATABASE_PASSWORD=Tr1cky\\\\Secret-Val") == f"DATABASE_PASSWORD={REDACTED}"
    assert redact("DATABASE_PASSWORD=Tr1cky\\Secret-Val") == f"DATABASE_PASSWORD={REDACTED}"


def test_a_secret_equal_to_a_public_name_keeps_the_name(tmp_path: Path) -> None:
    secrets = _SECRETS.replace("POSTGRES_PASSWORD=pg-pw-5678", "POSTGRES_PASSWORD=cube-worlds-bot")
    config = load_config(root=_project(tmp_path, _DEPLOY, {"secrets": secrets}), version="1", env={"PATH": "/usr/bin"})
    password = config.secrets["POSTGRES_PASSWORD"]
    assert str(password) == REDACTED  # where it travels as a secret, it is masked
    assert redact("docker run --name cube-worlds-bot-web-1") == "docker run --name cube-worlds-bot-web-1"


def test_values_are_masked_once_the_files_are_read(tmp_path: Path) -> None:
    load_config(root=_project(tmp_path, _DEPLOY, {"secrets": _SECRETS}), version="1", env={"PATH": "/usr/bin"})
    assert redact("pg-pw-5678") == "pg-pw-5678"  # nothing read yet (Kamal reads secrets lazily too)
    secrets = Secrets(".kamal/secrets", cwd=tmp_path)
    secrets.use_names(["POSTGRES_PASSWORD"])
    secrets.keys()  # any read registers every used name at once
    assert redact("pg-pw-5678 registry-pw-1234") == f"{REDACTED} registry-pw-1234"


_FORMS: dict[str, Callable[[str], str]] = {
    "as is": lambda s: s,
    "env file": env_file_value,
    "docker --env": escape_shell_value,
    "shlex": shlex.quote,
    "single-quote body": single_quote_body,
    "Shellwords": shellescape,
    "JSON": lambda s: json.dumps(s),
    "JSON ascii": lambda s: json.dumps(s, ensure_ascii=True),
    "JSON utf-8": lambda s: json.dumps(s, ensure_ascii=False),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64 urlsafe": lambda s: base64.urlsafe_b64encode(s.encode()).decode().rstrip("="),
    "URL": lambda s: quote(s, safe=""),
    "URL plus": quote_plus,
}
_SECRET_TEXT = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 \\\"'`$#{}\n\t=/+%&é€😀-_.")), min_size=MIN_MASKED_LENGTH, max_size=24
)


@settings(max_examples=400, deadline=None)
@given(secret=_SECRET_TEXT, form=st.sampled_from(sorted(_FORMS)))
def test_every_form_of_a_secret_is_masked(secret: str, form: str) -> None:
    forget_all()
    Secret(secret)
    shown = _FORMS[form](secret)
    # NUL around it: a character no form contains, so nothing but the form itself can be found
    assert shown not in redact(f"\0{shown}\0"), form
    # line by line too: output is streamed and logged a line at a time
    for line in shown.splitlines():
        if len(line.strip()) >= MIN_MASKED_LENGTH:
            assert line.strip() not in redact(f"\0{line}\0"), (form, line)


def test_forms_include_kamal_env_file_escaping() -> None:
    assert "Tr1cky\\\\Secret-Val" in secret_forms("Tr1cky\\Secret-Val")


def test_a_failed_secrets_file_keeps_values_out_of_traceback_locals(tmp_path: Path) -> None:
    secrets_text = "EARLY=early-secret-value-42\nLATER=$(kamal secrets fetch --adapter no-such-vault X)\n"
    project = _project(tmp_path, _DEPLOY, {"secrets": secrets_text})
    secrets = Secrets(".kamal/secrets", cwd=project, env={"PATH": "/usr/bin"})
    with pytest.raises(ConfigError) as raised:
        secrets.keys()
    frames = list(traceback.walk_tb(raised.value.__traceback__))[1:]  # after this test's own frame
    assert [frame.f_code.co_name for frame, _ in frames][-1] == "_read_file"
    for frame, _ in frames:
        for value in frame.f_locals.values():
            assert "early-secret-value-42" not in repr(value), frame.f_code.co_name
    assert raised.value.__suppress_context__
