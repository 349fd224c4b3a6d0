"""Splitting %kamal lines into words; {name} expands outside quotes only."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from kamal_nb.notebook.lexer import LexError, split

NS = {"version": "v7", "hosts": ["web-1", "web-2"], "release": SimpleNamespace(tag="2026.11.1"), "n": 3}


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("deploy --version {version}", ["deploy", "--version", "v7"]),
        ("deploy --version=v{n}.{n}", ["deploy", "--version=v3.3"]),
        ("details -h {hosts}", ["details", "-h", "web-1,web-2"]),
        ("deploy --version {release.tag}", ["deploy", "--version", "2026.11.1"]),
        ("server exec 'echo {version} $HOME'", ["server", "exec", "echo {version} $HOME"]),
        ('server exec "echo {version} $HOME"', ["server", "exec", "echo {version} $HOME"]),
        ("lock acquire -m 'it''s {n}'", ["lock", "acquire", "-m", "its {n}"]),
        ('lock acquire -m "say \\"hi\\""', ["lock", "acquire", "-m", 'say "hi"']),
        ("server exec echo\\ {n}", ["server", "exec", "echo 3"]),
        ("x {{literal}} {not a name} {}", ["x", "{literal}", "{not", "a", "name}", "{}"]),
        ("details  # a comment {undefined}", ["details"]),
        ("lock acquire -m issue#12", ["lock", "acquire", "-m", "issue#12"]),
        ("", []),
    ],
)
def test_split_and_expand(line: str, words: list[str]) -> None:
    assert split(line, NS) == words


def test_without_a_namespace_nothing_is_expanded() -> None:
    assert split("deploy --version {version}") == ["deploy", "--version", "{version}"]


def test_a_value_with_spaces_stays_one_word() -> None:
    assert split("lock acquire -m {msg}", {"msg": "db migration; rm -rf /"}) == [
        "lock",
        "acquire",
        "-m",
        "db migration; rm -rf /",
    ]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("deploy --version {nope}", "{nope}: name 'nope' is not defined"),
        ("deploy --version {release.nope}", "{release.nope}: SimpleNamespace has no attribute 'nope'"),
        ("server exec 'echo", "no closing quotation (')"),
        ('server exec "echo', 'no closing quotation (")'),
    ],
)
def test_errors(line: str, message: str) -> None:
    with pytest.raises(LexError) as error:
        split(line, NS)
    assert str(error.value) == message
