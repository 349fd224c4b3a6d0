"""The conformance runner knows every public command method of Kamal 2.12.

The case files' expectations come from the real Kamal 2.12 (tests/unit/conformance_cases/kamal_case_oracle.py,
run by hand against a basecamp/kamal checkout at eee0083b); no test needs that checkout.
"""

from __future__ import annotations

from kamal_nb.conformance.calls import BUILDER_CLASSES, COMMAND_CLASSES, METHODS
from kamal_nb.conformance.kamal_methods import KAMAL_COMMAND_METHODS, method_count


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
