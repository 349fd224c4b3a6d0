"""Kamal's secrets files: which are read, when, and the `kamal secrets` commands."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from kamal_nb.config.errors import ConfigError
from kamal_nb.config.secrets import Secrets, extract, fetch, print_secrets, run_inline
from kamal_nb.redaction import REDACTED, Secret, redact

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def _write(root: Path, files: dict[str, str], folder: str = ".kamal") -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (root / folder / name).write_text(text)


def test_nothing_is_read_or_run_before_a_value_is_asked_for(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets": "A=$(touch ran; echo a)\n"})
    secrets = Secrets(".kamal/secrets", None, ENV, cwd=tmp_path)
    assert secrets.files() == [".kamal/secrets"]
    assert not secrets.loaded
    assert not (tmp_path / "ran").exists()
    assert secrets["A"].reveal() == "a"
    assert (tmp_path / "ran").exists()


def test_commands_run_once_even_under_concurrent_access(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets": "A=$(echo x >> count; echo a)\n"})
    secrets = Secrets(".kamal/secrets", None, ENV, cwd=tmp_path)
    threads = [threading.Thread(target=lambda: secrets["A"]) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert (tmp_path / "count").read_text() == "x\n"


def test_values_are_secrets_and_are_registered_for_redaction(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets": "TOKEN=tok-3c1b9f\n"})
    token = Secrets(".kamal/secrets", None, ENV, cwd=tmp_path)["TOKEN"]
    assert isinstance(token, Secret)
    assert str(token) == REDACTED
    assert redact("error: bad token tok-3c1b9f") == f"error: bad token {REDACTED}"


def test_missing_key_message_lists_the_files_read(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets-common": "A=1\n", "secrets": "B=2\n"})
    with pytest.raises(ConfigError) as raised:
        Secrets(".kamal/secrets", None, ENV, cwd=tmp_path)["X"]
    assert str(raised.value) == "Secret 'X' not found in .kamal/secrets-common, .kamal/secrets"


def test_missing_key_message_without_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        Secrets(".kamal/secrets", "dest", ENV, cwd=tmp_path)["SECRET"]
    expected = "Secret 'SECRET' not found, no secret files (.kamal/secrets-common, .kamal/secrets.dest) provided"
    assert str(raised.value) == expected


def test_custom_secrets_path_derives_both_names(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets-common": "COMMON=SHARED\nSECRET=COMMON\n", "secrets": "SECRET=BASE\n"}, "custom/path")
    _write(tmp_path, {"secrets.prod": "SECRET=PROD\n"}, "custom/path")
    base = Secrets("custom/path/secrets", None, ENV, cwd=tmp_path)
    prod = Secrets("custom/path/secrets", "prod", ENV, cwd=tmp_path)
    assert (base["COMMON"].reveal(), base["SECRET"].reveal()) == ("SHARED", "BASE")
    assert prod["SECRET"].reveal() == "PROD"
    assert prod.files() == ["custom/path/secrets-common", "custom/path/secrets.prod"]
    with pytest.raises(
        ConfigError, match=r"^Secret 'X' not found, no secret files \(custom/other-common, custom/other\)"
    ):
        Secrets("custom/other", None, ENV, cwd=tmp_path)["X"]


def test_destination_does_not_read_the_plain_file(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets": "ONLY_PLAIN=1\n"})
    secrets = Secrets(".kamal/secrets", "staging", ENV, cwd=tmp_path)
    assert "ONLY_PLAIN" not in secrets
    assert secrets.files() == []


def test_contains_versus_kamals_key_predicate(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets": "EMPTY=\nBLANK='  '\nSET=x\n"})
    secrets = Secrets(".kamal/secrets", None, ENV, cwd=tmp_path)
    assert "EMPTY" in secrets and "MISSING" not in secrets
    assert [secrets.is_present(key) for key in ("EMPTY", "BLANK", "SET", "MISSING")] == [False, False, True, False]
    assert secrets.keys() == ["EMPTY", "BLANK", "SET"]
    assert secrets.get("MISSING") is None


def test_ignored_file_is_reported_as_a_warning(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets-common": "A=1\n", "secrets": "B=$(kamal-nb-no-such-program-xyz)\n"})
    secrets = Secrets(".kamal/secrets", None, ENV, cwd=tmp_path)
    assert secrets.keys() == ["A"]
    assert len(secrets.warnings) == 1
    assert secrets.warnings[0].startswith(".kamal/secrets:1: No such file or directory - kamal-nb-no-such-program-xyz")


def test_print_secrets_matches_kamal_secrets_print(tmp_path: Path) -> None:
    _write(tmp_path, {"secrets": 'SECRET1=ABC\nSECRET2=${SECRET1}DEF\nPEM="l1\nl2\n"\n'})
    printed = print_secrets(Secrets(".kamal/secrets", None, ENV, cwd=tmp_path))
    # Ruby's puts adds no second newline after a value that already ends with one.
    assert printed == "SECRET1=ABC\nSECRET2=ABCDEF\nPEM=l1\nl2\n"


@pytest.mark.parametrize(
    ("name", "document", "expected"),
    [
        ("foo", '{"foo":"oof", "bar":"rab", "baz":"zab"}', "oof"),
        ("foo", '{"abc/foo":"oof", "bar":"rab"}', "oof"),
        ("foo", '{"a/foo":"first", "b/foo":"second"}', "first"),
        ("foo", '{"foo":null, "x/foo":"suffix"}', "suffix"),
        ("foo", '{"foo":false, "x/foo":"suffix"}', "suffix"),
        ("n", '{"n": 42}', "42"),
    ],
)
def test_extract(name: str, document: str, expected: str) -> None:
    assert extract(name, document) == expected


@pytest.mark.parametrize("document", ['{"xfoo":"no"}', '{"foo/x":"no"}', "{}"])
def test_extract_not_found(document: str) -> None:
    with pytest.raises(ConfigError, match=r"^Could not find secret foo$"):
        extract("foo", document)


def test_inline_commands() -> None:
    assert run_inline(["secrets", "extract", "K", '{"K":"v"}', "--inline"]) == "v"
    # fetch gives Ruby's JSON.dump, shell-escaped (test/cli/secrets_test.rb's test adapter)
    fetched = run_inline(["secrets", "fetch", "foo", "b/ar", "--account", "a", "--adapter", "test"])
    assert fetched == '\\{\\"foo\\":\\"oof\\",\\"b/ar\\":\\"ra/b\\"\\}'
    with pytest.raises(ConfigError, match=r"^No value provided for required options '--account'$"):
        run_inline(["secrets", "fetch", "--adapter", "1password", "X"])
    with pytest.raises(ConfigError, match="cannot be used inside a secrets file"):
        run_inline(["secrets", "print"])
    with pytest.raises(ConfigError, match="required: -a/--adapter"):
        run_inline(["secrets", "fetch", "X"])
    assert fetch(["X"], adapter="test", account="a") == {"X": "X"}
