"""Every validation case of the Kamal 2.12 conformance file, through kamal_nb's validator.

The file is the project's own copy (tests/unit/data/kamal-2.12-conformance.json, taken from the shared
conformance file), so that a clone runs it with nothing beside it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.config.assemble import build_config
from kamal_nb.config.validation import ValidationError

CONFORMANCE = Path(__file__).parent / "data" / "kamal-2.12-conformance.json"


class NoSecrets:
    def __getitem__(self, key: str) -> Any:
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        return False

    def is_present(self, key: str) -> bool:
        return False


def _validation_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CONFORMANCE.read_text())
    return [case for case in cases if "expected_error" in case]


CASES = _validation_cases()


def test_conformance_file_is_there() -> None:
    assert CONFORMANCE.is_file(), f"missing {CONFORMANCE}"
    assert len(CASES) == 14


@pytest.mark.parametrize("case", CASES, ids=[case["source"] for case in CASES])
def test_validation_case(case: dict[str, Any]) -> None:
    assert case["assertion"] == "exact"
    with pytest.raises(ValidationError) as raised:
        build_config(case["config"], secrets=NoSecrets(), destination=case.get("destination"))
    assert raised.value.message == case["expected_error"]


def _command_cases() -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads(CONFORMANCE.read_text())
    return [case for case in cases if "expected_error" not in case]


COMMAND_CASES = _command_cases()


@pytest.mark.parametrize("case", COMMAND_CASES, ids=[f"{c['source']}:{c['call']}" for c in COMMAND_CASES])
def test_command_case_configs_load(case: dict[str, Any]) -> None:
    """The configs of the command-string cases are valid, and name roles the Config knows."""
    config = build_config(
        case["config"], secrets=NoSecrets(), destination=case.get("destination"), version=case.get("version")
    )
    if case.get("role"):
        assert config.role(case["role"]) is not None
    if case.get("version"):
        assert config.version == case["version"]
