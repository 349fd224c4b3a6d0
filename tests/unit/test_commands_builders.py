"""Command values, Ruby quoting, redaction of secrets, and purity of the builders."""

from __future__ import annotations

import builtins
import socket
import subprocess
from pathlib import Path

import pytest

from kamal_nb.commands import App, Auditor, Builder, Lock, Registry, container_hostname, replaced_version
from kamal_nb.commands.command import Command, Sensitive, pipe, shell
from kamal_nb.commands.quoting import (
    encode64,
    env_file_value,
    escape_shell_value,
    ruby_dump,
    ruby_file_join,
    shellescape,
)
from kamal_nb.config import Config, Source, build_config
from kamal_nb.config.secrets import Secrets
from kamal_nb.redaction import REDACTED, forget_all, redact


def _config(tmp_path: Path, **extra: object) -> Config:
    (tmp_path / ".kamal").mkdir(exist_ok=True)
    (tmp_path / ".kamal" / "secrets").write_text("REGISTRY_PASSWORD=hunter2-secret\nRAILS_MASTER_KEY=masterkey\n")
    raw: dict[object, object] = {
        "service": "app",
        "image": "dhh/app",
        "registry": {"username": "dhh", "password": ["REGISTRY_PASSWORD"]},
        "servers": {"web": ["1.1.1.1"], "workers": ["1.1.1.2"]},
        "env": {"secret": ["RAILS_MASTER_KEY"]},
        "builder": {"arch": "amd64", "args": {"TOKEN": "build-arg-value"}},
    }
    raw.update(extra)
    return build_config(
        raw,
        secrets=Secrets(".kamal/secrets", None, {}, cwd=tmp_path),
        version="999",
        source=Source(root=str(tmp_path), environment={}),
    )


@pytest.mark.parametrize(
    ("value", "dumped"),
    [
        ('say "hi"', '"say \\"hi\\""'),
        ("back\\slash", '"back\\\\slash"'),
        ("a\nb\tc\x1b\x07\x00\x7f", '"a\\nb\\tc\\e\\a\\x00\\x7F"'),
        ("#{x} #$y #@z #ok", '"\\#{x} \\#$y \\#@z #ok"'),
    ],
)
def test_ruby_dump(value: str, dumped: str) -> None:
    assert ruby_dump(value) == dumped


def test_escape_shell_value_guards_the_shell_but_keeps_braced_variables_and_non_ascii() -> None:
    assert escape_shell_value("$HOME ${HOME} `id`") == '"\\$HOME ${HOME} \\`id\\`"'
    # Each ASCII run is dumped on its own, so non-ASCII text sits between quoted runs.
    assert escape_shell_value("café ☕ ok") == '"caf"é" "☕" ok"'


def test_env_file_values_keep_quotes_and_hashes_literal() -> None:
    assert env_file_value('secret&"123 #{x}') == 'secret&"123 #{x}'
    assert env_file_value("hello\\nthere") == "hello\\\\nthere"


def test_encode64_wraps_at_60_columns_like_ruby() -> None:
    text = encode64(b"Locked by: Kamal Tester at 2024-01-01T00:00:00Z\nVersion: 123\nMessage: Hello")
    assert (
        text
        == "TG9ja2VkIGJ5OiBLYW1hbCBUZXN0ZXIgYXQgMjAyNC0wMS0wMVQwMDowMDow\nMFoKVmVyc2lvbjogMTIzCk1lc3NhZ2U6IEhlbGxv\n"
    )
    assert encode64(b"") == ""


def test_shellescape_and_file_join_follow_ruby() -> None:
    assert shellescape("/tmp/my dir/it's") == "/tmp/my\\ dir/it\\'s"
    assert shellescape("") == "''"
    assert ruby_file_join("/tmp/clones", "app", "/sub") == "/tmp/clones/app/sub"
    assert ruby_file_join("/tmp/clones", "app", "") == "/tmp/clones/app/"


def test_lock_acquire_is_exact_with_the_injected_locker_and_time(tmp_path: Path) -> None:
    lock = Lock(_config(tmp_path))
    command = lock.acquire("Hello", "123", locked_by="Kamal Tester", locked_at="2024-01-01T00:00:00Z")
    assert command.wire() == (
        'mkdir .kamal/lock-app && echo "TG9ja2VkIGJ5OiBLYW1hbCBUZXN0ZXIgYXQgMjAyNC0wMS0wMVQwMDowMDow\n'
        'MFoKVmVyc2lvbjogMTIzCk1lc3NhZ2U6IEhlbGxv\n" > .kamal/lock-app/details'
    )


def test_registry_login_reveals_secrets_only_on_the_wire(tmp_path: Path) -> None:
    login = Registry(_config(tmp_path)).login()
    assert login is not None
    assert login.wire() == 'docker login -u "dhh" -p "hunter2-secret"'
    # the username is written in deploy.yml: no secret, so the plan shows it (Kamal's log does not)
    assert str(login) == f'docker login -u "dhh" -p {REDACTED}'
    assert "hunter2" not in repr(login) and login.sensitive


def test_a_registry_username_from_the_secrets_stays_redacted(tmp_path: Path) -> None:
    config = _config(tmp_path, registry={"username": ["REGISTRY_USER"], "password": ["REGISTRY_PASSWORD"]})
    with (tmp_path / ".kamal" / "secrets").open("a") as secrets:
        secrets.write("REGISTRY_USER=robot-account\n")  # the secrets are read when first used
    login = Registry(config).login()
    assert login is not None
    assert login.wire() == 'docker login -u "robot-account" -p "hunter2-secret"'
    assert str(login) == f"docker login -u {REDACTED} -p {REDACTED}"


def test_build_args_are_shown_they_are_not_secrets(tmp_path: Path) -> None:
    # Kamal's log redacts every build arg; builder.args come from deploy.yml (secrets travel as
    # --secret), so kamal_nb's plans show them, and mask only a value that is also a secret's.
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    config = _config(tmp_path, builder={"arch": "amd64", "args": {"TOKEN": "build-arg-value", "KEY": "masterkey"}})
    push = Builder(config).target.push()
    assert '--build-arg TOKEN="build-arg-value"' in push.wire()
    assert '--build-arg TOKEN="build-arg-value"' in str(push)
    forget_all()
    config.secrets["RAILS_MASTER_KEY"].reveal()
    assert '--build-arg KEY="masterkey"' in push.wire()
    assert "masterkey" not in redact(str(push))
    forget_all()


def test_sensitive_tokens_stay_sensitive_through_shell_quoting() -> None:
    inner = Command(("echo", Sensitive('"s3cret"')))
    wrapped = pipe(shell(inner), "cat")
    assert wrapped.wire() == "sh -c 'echo \"s3cret\"' | cat"
    assert str(wrapped) == f"sh -c 'echo {REDACTED}' | cat"


def test_env_file_content_is_a_secret(tmp_path: Path) -> None:
    app = App(_config(tmp_path), role="web", host="1.1.1.1")
    content = app.secrets_io()
    assert content.reveal() == "RAILS_MASTER_KEY=masterkey\n"
    assert str(content) == REDACTED
    assert app.secrets_path == ".kamal/apps/app/env/roles/web.env"


def test_random_and_clock_values_are_parameters(tmp_path: Path) -> None:
    config = _config(tmp_path)
    app = App(config, role="web", host="1.1.1.1")
    run = app.run(hostname=container_hostname("1.1.1.1", "0123456789ab")).wire()
    assert "--hostname 1.1.1.1-0123456789ab" in run
    assert container_hostname("a" * 60 + ".example.", "x") == "a" * 51 + "-x"
    assert replaced_version("999", "0" * 16) == "999_replaced_0000000000000000"
    assert "app-web-exec-999-abcdef" in app.execute_in_new_container("ls", env={}, exec_suffix="abcdef").wire()
    audit = Auditor(config, recorded_at="2024-01-01T00:00:00Z", performer="me@x", role=config.role("web"))
    assert audit.record("Booted").wire() == (
        'mkdir -p .kamal && echo "[2024-01-01T00:00:00Z] [me@x] [web] Booted" >> .kamal/app-audit.log'
    )


def test_building_commands_does_no_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = _config(tmp_path)
    Registry(config).login()  # loads the (lazy) secrets files before I/O is forbidden

    def forbidden(*args: object, **kwargs: object) -> None:
        raise AssertionError("a builder did I/O")

    monkeypatch.setattr(subprocess, "run", forbidden)
    monkeypatch.setattr(subprocess, "Popen", forbidden)
    monkeypatch.setattr(socket, "socket", forbidden)
    monkeypatch.setattr(builtins, "open", forbidden)
    app = App(config, role="web", host="1.1.1.1")
    for command in (
        app.run(),
        app.stop(),
        app.deploy(target="abc"),
        app.current_running_version(),
        app.logs(grep="x"),
        app.follow_logs(host="1.1.1.1"),
        Builder(config, local_arch="amd64").target.push(),
        Lock(config).acquire("m", "1", locked_by="x", locked_at="t"),
    ):
        assert command.wire()
    assert app.secrets_io().reveal()


def test_importing_the_commands_is_cheap() -> None:
    code = "import sys, kamal_nb.commands, kamal_nb.conformance.runner; print(sorted(m for m in ('pandas', 'fabric', 'paramiko', 'docker', 'ipywidgets', 'IPython') if m in sys.modules))"
    completed = subprocess.run([__import__("sys").executable, "-c", code], capture_output=True, text=True, check=True)
    assert completed.stdout.strip() == "[]"
