"""YAML read with Psych's rules (what Kamal sees), and written back as Ruby's to_yaml writes it."""

from __future__ import annotations

import datetime
import time

import pytest

from kamal_nb.config.errors import ConfigError
from kamal_nb.ruby.psych_dump import dump
from kamal_nb.ruby.psych_yaml import load, tokenize
from kamal_nb.ruby.values import RubySymbol


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("", None),
        ("~", None),
        ("null", None),
        ("yes", True),
        ("YeS", True),  # Psych is case-insensitive; PyYAML would say "YeS"
        ("off", False),
        ("n", "n"),
        ("y", "y"),
        ("amd64", "amd64"),
        ("1.1.1.1", "1.1.1.1"),
        ("3306", 3306),
        ("1,000", 1000),
        ("40_000_000", 40_000_000),
        ("0755", 0o755),
        ("0x1f", 31),
        ("0.5", 0.5),
        ("1e3", "1e3"),  # no dot: a string in Psych
        ("1:30", 5400),  # Psych's base-60 reading (sic)
        (":verbose", RubySymbol("verbose")),
        (':"quoted sym"', RubySymbol("quoted sym")),
        ("2024-01-31", datetime.date(2024, 1, 31)),
        ("3.3.0", "3.3.0"),
        ("-.inf", float("-inf")),
    ],
)
def test_plain_scalars_resolve_as_in_psych(text: str, value: object) -> None:
    assert tokenize(text) == value


def test_quoted_scalars_stay_strings_and_merge_keys_work() -> None:
    doc = load("a: \"3306\"\nb: 'yes'\nbase: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n", path="f.yml")
    assert doc == {"a": "3306", "b": "yes", "base": {"x": 1, "y": 2}, "c": {"x": 1, "y": 3}}


def test_alias_bomb_is_refused_quickly() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for level in range(1, 12):
        refs = ", ".join([f"*a{level - 1}"] * 10)
        lines.append(f"a{level}: &a{level} [{refs}]")
    started = time.monotonic()
    with pytest.raises(ConfigError, match="alias bomb"):
        load("\n".join(lines) + "\n", path="bomb.yml")
    assert time.monotonic() - started < 1


def test_ruby_objects_are_refused_with_file_and_line() -> None:
    with pytest.raises(ConfigError) as raised:
        load("a: 1\nb: !ruby/object:Gem::Installer {}\n", path="deploy.yml")
    assert str(raised.value).startswith("deploy.yml:2: unsupported YAML tag")


def test_syntax_errors_name_file_and_line() -> None:
    with pytest.raises(ConfigError) as raised:
        load("a: 1\nb: [unclosed\n", path="deploy.yml")
    assert raised.value.path == "deploy.yml" and raised.value.line is not None


def test_dump_matches_ruby_to_yaml_styles() -> None:
    value: dict[RubySymbol, object] = {
        RubySymbol("version"): "123",
        RubySymbol("list"): ["--volume", "/a:/b", "y", "", "09", "a: b", "plain", 'max-size="5m"', '"json"'],
        RubySymbol("empty"): {},
        RubySymbol("none"): None,
        RubySymbol("multi"): "a\nb",
        RubySymbol("sym"): RubySymbol("fatal"),
    }
    assert dump(value) == (
        "---\n"
        ":version: '123'\n"
        ":list:\n"
        '- "--volume"\n'
        '- "/a:/b"\n'
        '- "y"\n'
        "- ''\n"
        "- '09'\n"
        "- 'a: b'\n"
        "- plain\n"
        '- max-size="5m"\n'
        "- '\"json\"'\n"
        ":empty: {}\n"
        ":none: \n"
        ":multi: |-\n"
        "  a\n"
        "  b\n"
        ":sym: :fatal\n"
    )
