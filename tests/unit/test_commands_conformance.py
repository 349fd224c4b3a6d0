"""The Kamal 2.12 conformance file and our own case files, through the conformance runner.

The conformance file is the project's own copy (tests/unit/data/kamal-2.12-conformance.json, taken
from the shared conformance file), so that a clone runs it with nothing beside it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kamal_nb.conformance.runner import report, run_file

REPO = Path(__file__).resolve().parents[2]
CONFORMANCE = Path(__file__).parent / "data" / "kamal-2.12-conformance.json"
OWN_CASES = sorted((Path(__file__).parent / "conformance_cases").glob("*.json"))


def test_every_conformance_case_passes() -> None:
    outcomes = run_file(CONFORMANCE)
    text, failures = report(outcomes)
    assert len(outcomes) == 60
    assert failures == 0, text


@pytest.mark.parametrize("path", OWN_CASES, ids=[p.name for p in OWN_CASES])
def test_own_case_file_passes(path: Path) -> None:
    outcomes = run_file(path)
    text, failures = report(outcomes)
    assert outcomes, f"{path} has no cases"
    assert failures == 0, text


def test_own_case_files_exist() -> None:
    assert len(OWN_CASES) >= 5


def test_module_entry_point_reports_and_exits_non_zero_on_failure(tmp_path: Path) -> None:
    good = {
        "source": "ours",
        "config": {
            "service": "app",
            "image": "dhh/app",
            "registry": {"username": "u", "password": "p"},
            "servers": ["1.1.1.1"],
            "builder": {"arch": "amd64"},
        },
        "destination": None,
        "version": "1",
        "role": "web",
        "host": "1.1.1.1",
        "call": "App#start()",
        "expected": "docker start app-web-1",
    }
    bad = {**good, "expected": "docker start app-web-2"}
    unknown = {**good, "call": "App#no_such_method()"}
    cases = tmp_path / "cases.json"
    import json

    cases.write_text(json.dumps([good, bad, unknown]))
    completed = subprocess.run(
        [sys.executable, "-m", "kamal_nb.conformance", str(cases)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 1
    lines = completed.stdout.strip().splitlines()
    assert lines[-1] == "1 passed, 2 failed"
    assert "-app-web-2" in completed.stdout and "+app-web-1" in completed.stdout
    assert "unsupported call: App#no_such_method" in completed.stdout

    cases.write_text(json.dumps([good]))
    completed = subprocess.run(
        [sys.executable, "-m", "kamal_nb.conformance", str(cases)], capture_output=True, text=True, check=False
    )
    assert completed.returncode == 0
    assert completed.stdout.strip() == "1 passed, 0 failed"
