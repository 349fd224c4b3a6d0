"""The conformance runner knows every public command method of Kamal 2.12, and its oracle data is real."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kamal_nb.conformance.calls import BUILDER_CLASSES, COMMAND_CLASSES, METHODS
from kamal_nb.conformance.kamal_methods import KAMAL_COMMAND_METHODS, method_count

MIRROR = Path("/work/.mirror/basecamp+kamal/repo")
KAMAL_2_12 = "eee0083b"
CASES = Path(__file__).parent / "conformance_cases"


def _classes_for(defining: str) -> tuple[str, ...]:
    """Where a method defined in ``defining`` can be called from (inheritance and delegation)."""
    if defining == "Base":
        return COMMAND_CLASSES
    if defining == "Builder::Base":
        return (*BUILDER_CLASSES, "Builder")
    if defining == "Builder::Clone":
        return ("Builder",)
    if defining == "Builder::Remote":
        return ("Builder::Remote", "Builder::Hybrid")
    return (defining,)


def test_the_call_table_covers_every_kamal_command_method() -> None:
    missing = [
        f"{cls}#{method} (as {target})"
        for cls, methods in KAMAL_COMMAND_METHODS.items()
        for method in methods
        for target in _classes_for(cls)
        if (target, method) not in METHODS
        # Builder only delegates part of Builder::Base to its target
        and not (target == "Builder" and cls == "Builder::Base" and method in ("build_options", "build_context"))
    ]
    assert missing == []
    assert method_count() == 153


def test_unknown_calls_are_unsupported() -> None:
    from kamal_nb.conformance.runner import run_case

    case = {
        "source": "x",
        "config": {
            "service": "app",
            "image": "app",
            "registry": {"username": "u", "password": "p"},
            "servers": ["1.1.1.1"],
            "builder": {"arch": "amd64"},
        },
        "version": "1",
        "call": "Nope#run()",
        "expected": "",
    }
    outcome = run_case(case)
    assert not outcome.passed and outcome.detail.startswith("unsupported call")


def _public_methods(source: str) -> list[str]:
    methods = []
    for line in source.splitlines():
        if re.match(r"^\s*private\s*$", line):
            break
        found = re.match(r"^\s*def ([a-z_?!]+)", line) or re.match(r"^\s*alias_method :([a-z_?!]+)", line)
        if found and found.group(1) != "initialize":
            methods.append(found.group(1))
    return methods


@pytest.mark.skipif(not MIRROR.is_dir(), reason="no basecamp/kamal mirror on this machine")
def test_the_method_list_is_what_kamal_2_12_defines() -> None:
    files = {
        "Base": ["base.rb"],
        "App": [
            "app.rb",
            *(
                f"app/{part}.rb"
                for part in ("assets", "containers", "error_pages", "execution", "images", "logging", "proxy")
            ),
        ],
        "Accessory": ["accessory.rb", "accessory/proxy.rb"],
        "Auditor": ["auditor.rb"],
        "Builder": ["builder.rb"],
        **{
            f"Builder::{name.title()}": [f"builder/{name}.rb"]
            for name in ("base", "clone", "cloud", "hybrid", "local", "pack", "remote")
        },
        **{name: [f"{name.lower()}.rb"] for name in ("Docker", "Hook", "Lock", "Proxy", "Prune", "Registry", "Server")},
    }
    for cls, paths in files.items():
        found: list[str] = []
        for path in paths:
            source = subprocess.run(
                ["git", "--git-dir", str(MIRROR), "show", f"{KAMAL_2_12}:lib/kamal/commands/{path}"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            found += _public_methods(source.replace("def remove;end", "def remove"))
        assert tuple(dict.fromkeys(found)) == KAMAL_COMMAND_METHODS[cls], cls


@pytest.mark.skipif(
    not MIRROR.is_dir() or not (Path(sys.executable).parent / "kamal").exists() or shutil.which("git") is None,
    reason="needs the real kamal binary and a basecamp/kamal mirror",
)
def test_own_cases_are_what_the_real_kamal_builds(tmp_path: Path) -> None:
    """Re-ask the oracle for one case file and compare with the committed expectations."""
    sys.path.insert(0, str(CASES))
    try:
        import kamal_case_oracle  # type: ignore[import-not-found]  # a script beside the cases
    finally:
        sys.path.pop(0)
    archive = subprocess.run(
        ["git", "--git-dir", str(MIRROR), "archive", KAMAL_2_12, "lib"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(tmp_path)], input=archive.stdout, check=True)
    cases = json.loads((CASES / "proxy.json").read_text())
    results = kamal_case_oracle.run(tmp_path, cases)
    for case, result in zip(cases, results, strict=True):
        assert result.get("result") == case["expected"], case["call"]
