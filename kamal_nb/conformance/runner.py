"""Run a file of conformance cases (the format of shared/conformance/kamal-2.12.json, section 6.3).

Command cases: build the config in a fresh temporary directory (secrets files, other files, ENV
stubs), evaluate the Kamal call with kamal_nb's builders, compare with ``expected`` (exact),
``expected_regex`` (full match) or ``expected_template`` (``{recorded_at}``/``{performer}`` filled
with the injected values), or ``expected_error`` when Kamal raises.
Validation cases (``Configuration.new(config)``): the config loader must fail with ``expected_error``.

Optional case keys beyond the shared format: ``files`` (other files to write, e.g. a Dockerfile or
hooks), ``injected`` (overrides of ``Injected``: recorded_at, performer, locked_by, exec_suffix,
local_arch, tty, git checkout), ``name``.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from kamal_nb.commands.builder import GitCheckout
from kamal_nb.commands.command import Command, Sensitive, wire_text
from kamal_nb.config import ConfigError, Source, build_config
from kamal_nb.config.secrets import Secrets
from kamal_nb.conformance.call_syntax import CallSyntaxError, parse_call
from kamal_nb.conformance.calls import Context, Injected, KamalRaises, UnsupportedCall, evaluate
from kamal_nb.redaction import Secret

VALIDATION_CALL = "Configuration.new(config)"


@dataclass(frozen=True)
class Outcome:
    case: Mapping[str, Any]
    passed: bool
    detail: str = ""

    @property
    def title(self) -> str:
        return f"{self.case.get('source', '?')} {self.case.get('call', '?')}"


def run_file(path: str | os.PathLike[str]) -> list[Outcome]:
    cases = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(cases, list):
        raise ValueError(f"{path}: expected a JSON list of cases")
    return [run_case(case) for case in cases]


def run_case(case: Mapping[str, Any]) -> Outcome:
    with tempfile.TemporaryDirectory(prefix="kamal-nb-case-") as tmp:
        root = Path(tmp)
        _write_files(root, case)
        try:
            if case.get("call") == VALIDATION_CALL:
                return _validation(case, root)
            return _command(case, root)
        except UnsupportedCall as unsupported:
            return Outcome(case, False, f"unsupported call: {unsupported}")
        except CallSyntaxError as error:
            return Outcome(case, False, f"unsupported call: {error}")


def _write_files(root: Path, case: Mapping[str, Any]) -> None:
    for name, text in (case.get("secrets_files") or {}).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    for name, text in (case.get("files") or {}).items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        if name.startswith(".kamal/hooks/"):
            target.chmod(0o755)


def _environment(case: Mapping[str, Any]) -> dict[str, str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    env.update({str(k): str(v) for k, v in (case.get("env") or {}).items()})
    return env


def _config(case: Mapping[str, Any], root: Path) -> Any:
    raw = case["config"]
    env = _environment(case)
    destination = case.get("destination")
    secrets_path = raw.get("secrets_path") if isinstance(raw.get("secrets_path"), str) else ".kamal/secrets"
    secrets = Secrets(secrets_path, destination, env, cwd=root)
    return build_config(
        raw,
        secrets=secrets,
        destination=destination,
        version=case.get("version"),
        source=Source(root=str(root), environment=env),
    )


def _validation(case: Mapping[str, Any], root: Path) -> Outcome:
    expected = str(case["expected_error"])
    try:
        _config(case, root)
    except ConfigError as error:
        message = getattr(error, "message", None) or error.detail
        if _error_matches(case, message):
            return Outcome(case, True)
        return Outcome(case, False, _diff(expected, message))
    return Outcome(case, False, f"expected the error {expected!r}, but the config loaded")


def _error_matches(case: Mapping[str, Any], message: str) -> bool:
    expected = str(case["expected_error"])
    assertion = case.get("assertion", "exact")
    if assertion == "regex":
        return re.search(expected, message) is not None
    if assertion in ("include", "includes"):
        return expected in message
    return message == expected


def _injected(case: Mapping[str, Any]) -> Injected:
    overrides = dict(case.get("injected") or {})
    if "checkout" in overrides:
        overrides["checkout"] = GitCheckout(**overrides["checkout"])
    known = {f.name for f in fields(Injected)}
    return Injected(**{k: v for k, v in overrides.items() if k in known})


def _command(case: Mapping[str, Any], root: Path) -> Outcome:
    call = parse_call(str(case["call"]))
    injected = _injected(case)
    try:
        config = _config(case, root)
        ctx = Context(config, case.get("role"), case.get("host"), case.get("version"), root, injected)
        result = render(evaluate(ctx, call.receiver, call.methods))
    except (KamalRaises, ConfigError, ValueError, NotImplementedError) as error:
        if isinstance(error, CallSyntaxError):
            raise
        if "expected_error" in case:
            message = getattr(error, "message", None) or str(error)
            if _error_matches(case, message):
                return Outcome(case, True)
            return Outcome(case, False, _diff(str(case["expected_error"]), message))
        return Outcome(case, False, f"raised {type(error).__name__}: {error}")
    if "expected_error" in case:
        return Outcome(case, False, f"expected the error {case['expected_error']!r}, got {result!r}")
    if "expected_regex" in case:
        pattern = str(case["expected_regex"])
        if result is not None and re.fullmatch(pattern, result):
            return Outcome(case, True)
        return Outcome(case, False, f"no full match for /{pattern}/:\n  {result!r}")
    if "expected_template" in case:
        expected = str(case["expected_template"]).format(recorded_at=injected.recorded_at, performer=injected.performer)
    else:
        expected = case["expected"]
    if result == expected:
        return Outcome(case, True)
    return Outcome(case, False, _diff(expected, result))


def render(result: object) -> str | None:
    """A builder's result as Kamal's test would see it: a command as ``argv.join(" ")`` (secrets
    revealed), a list of commands one per line, a hash as compact JSON (Ruby's ``to_json``), booleans
    as true/false."""
    if result is None:
        return None
    if isinstance(result, Command):
        return result.wire()
    if isinstance(result, Secret):
        return result.reveal()
    if isinstance(result, Sensitive):
        return result.wire()
    if isinstance(result, bool):
        return "true" if result else "false"
    if isinstance(result, str):
        return result
    if isinstance(result, Mapping):
        return json.dumps({str(k): render(v) for k, v in result.items()}, ensure_ascii=False, separators=(",", ":"))
    if isinstance(result, Sequence):
        if all(isinstance(item, str | Sensitive) for item in result):
            return " ".join(wire_text(item) for item in result)
        return "\n".join(render(item) or "" for item in result)
    return str(result)


def _diff(expected: object, actual: object) -> str:
    if not isinstance(expected, str) or not isinstance(actual, str):
        return f"expected: {expected!r}\n  actual: {actual!r}"
    lines = [f"expected: {expected}", f"  actual: {actual}"]
    # Long one-line commands differ in a token or two: diff them token by token.
    separator = " " if "\n" not in expected + actual else "\n"
    delta = difflib.unified_diff(
        expected.split(separator), actual.split(separator), "expected", "actual", lineterm="", n=2
    )
    lines += [f"  {line}" for line in delta]
    return "\n".join(lines)


def report(outcomes: list[Outcome]) -> tuple[str, int]:
    """The text to print and the number of failures."""
    failed = [outcome for outcome in outcomes if not outcome.passed]
    lines = []
    for outcome in failed:
        lines.append(f"FAIL {outcome.title}")
        lines += [f"  {line}" for line in outcome.detail.splitlines()]
    lines.append(f"{len(outcomes) - len(failed)} passed, {len(failed)} failed")
    return "\n".join(lines), len(failed)
