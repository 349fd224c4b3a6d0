"""`kamal-nb` parses a line with only its command's branch of the tree (cheaper to build): the
result, or the error and its usage, is the same as with the whole tree."""

from __future__ import annotations

import pytest

from kamal_nb import cli_tree

LINES = [
    *([*path] for path in cli_tree.command_paths()),  # every command, bare (some lack an argument)
    ["details", "-d", "staging", "-q"],
    ["app", "logs", "-n", "50", "-g", "GET /up", "-h", "web-1"],
    ["app", "exec", "--reuse", "ls", "-la"],
    ["plan", "rollback", "v6"],
    ["deploy", "--version", "v7", "-y"],
    ["deploy", "--bogus"],
    ["app", "detials"],
    ["app"],
    ["lock", "acquire", "-m"],
    ["accessory", "boot", "db", "--roles", "web,jobs"],
]


def outcome(words: list[str], parser: cli_tree.KamalArgumentParser | None) -> object:
    try:
        invocation = cli_tree.parse(words, prog="kamal-nb", parser=parser)
    except cli_tree.ParseError as error:
        return ("error", str(error), error.usage)
    except cli_tree.HelpRequested as help:
        return ("help", help.text)
    return invocation


@pytest.mark.parametrize("words", LINES, ids=" ".join)
def test_a_branch_parses_as_the_whole_tree(words: list[str]) -> None:
    whole = cli_tree.build_parser("kamal-nb")
    assert outcome(words, None) == outcome(words, whole)
