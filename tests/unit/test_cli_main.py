"""The kamal-nb console script: same tree as %kamal; help, version, parse errors, plan, run, exit codes."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest

from kamal_nb import KAMAL_COMPAT_VERSION, __version__
from kamal_nb.cli import main

REPO = Path(__file__).resolve().parents[2]

# Registers a fake `deploy` (mutating) and `app details` in the catalog, then runs kamal-nb's main.
FAKE_OPS = """
import sys
from kamal_nb.fleet import CommandResult, GroupResult, HostResult, Output, Started, Finished
from kamal_nb.ops import catalog
from kamal_nb.engine.plan import Plan, PlannedStep
from kamal_nb.engine.result import OperationResult
catalog.catalog = lambda: dict(catalog._CATALOG)  # only the fakes, never the real operations

def plan(ctx, args):
    return Plan("deploy", (PlannedStep("web-1", "docker pull app:" + str(ctx.options.version)),))

def run(ctx, args):
    code = 1 if ctx.options.version == "bad" else 0
    ctx.session.events.publish(Started("web-1", 0, "docker pull app"))
    ctx.session.events.publish(Output("web-1", 0, "stdout", "pulled"))
    ctx.session.events.publish(Finished("web-1", 0, code, 0.1))
    host = HostResult("web-1", (CommandResult("web-1", "docker pull app", code, "pulled\\n", "", 0.1),))
    return OperationResult("deploy", GroupResult({"web-1": host}), 0.1)

catalog.register(("deploy",), "fake deploy", mutating=True, plan=plan, run=run)
catalog.register(("app", "details"), "fake details", mutating=False, plan=plan, run=run)
from kamal_nb.cli import main
sys.exit(main(sys.argv[1:]))
"""


def kamal_nb(*args: str, fake: bool = False, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-c", FAKE_OPS, *args] if fake else [sys.executable, "-m", "kamal_nb", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=60)


def test_version_and_help() -> None:
    version = kamal_nb("--version")
    assert (version.returncode, version.stdout) == (0, f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})\n")
    help = kamal_nb("--help")
    assert help.returncode == 0 and help.stdout.startswith("usage: kamal-nb")
    assert "rollback" in help.stdout and "accessory" in help.stdout
    deploy = kamal_nb("deploy", "--help")
    assert deploy.returncode == 0 and "-h HOSTS, --hosts HOSTS" in deploy.stdout
    assert kamal_nb("help", "lock", "acquire").stdout.startswith("usage: kamal-nb lock acquire")
    assert kamal_nb().stdout.startswith("usage: kamal-nb")


def test_parse_errors_exit_2_with_usage() -> None:
    done = kamal_nb("deplyo")
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.startswith("usage: kamal-nb")
    assert "kamal-nb: unknown command 'deplyo'; did you mean 'deploy'?" in done.stderr
    bogus = kamal_nb("app", "logs", "--lines", "x")
    assert bogus.returncode == 2 and "argument -n/--lines: invalid int value: 'x'" in bogus.stderr
    # a long usage is one line naming the command and its positional arguments (no option's value
    # taken for a word of it)
    missing = kamal_nb("app", "exec")
    assert missing.returncode == 2
    assert missing.stderr.splitlines() == [
        "usage: kamal-nb app exec [options] CMD [CMD ...]  (all of them: kamal-nb app exec --help)",
        "kamal-nb app exec: the following arguments are required: CMD",
    ], missing.stderr


def test_plan_of_a_fake_operation(tmp_path: Path) -> None:
    done = kamal_nb("plan", "deploy", "--version", "v7", fake=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("Plan: kamal deploy (1 steps on 1 hosts)")
    assert "docker pull app:v7" in done.stdout and "pulled" not in done.stdout


def test_mutating_without_yes_prints_the_plan_and_exits_1(tmp_path: Path) -> None:
    done = kamal_nb("deploy", "--version", "v7", fake=True, cwd=tmp_path)
    assert done.returncode == 1
    assert "nothing was run: confirm with --yes" in done.stdout and "pulled" not in done.stdout
    assert "add --yes to run it" in done.stderr


def test_run_streams_host_output_and_exit_code(tmp_path: Path) -> None:
    done = kamal_nb("deploy", "--version", "v7", "-y", fake=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    # one line per step (what, duration, exit); the output is the result's to show, once
    assert "[web-1] ok      0.10s  docker pull app\n" in done.stdout and "[web-1] pulled" not in done.stdout
    assert "kamal deploy: ok" in done.stdout
    verbose = kamal_nb("deploy", "--version", "v7", "-y", "-v", fake=True, cwd=tmp_path)
    assert "[web-1] $ docker pull app\n[web-1] pulled\n[web-1] ok (0.1s)\n" in verbose.stdout
    failed = kamal_nb("deploy", "--version", "bad", "-y", fake=True, cwd=tmp_path)
    assert failed.returncode == 1 and "FAILED on 1 of 1 hosts" in failed.stdout
    assert "[web-1] exit 1  0.10s  docker pull app\n[web-1]   │ pulled\n" in failed.stdout
    quiet = kamal_nb("app", "details", "-q", fake=True, cwd=tmp_path)
    assert quiet.returncode == 0 and "[web-1]" not in quiet.stdout
    quiet_failure = kamal_nb("deploy", "--version", "bad", "-y", "-q", fake=True, cwd=tmp_path)
    assert "[web-1] exit 1  0.10s  docker pull app\n" in quiet_failure.stdout


def test_unknown_operation_and_missing_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kamal_nb.ops import catalog

    catalog.catalog()  # every operation registered in the real catalog first, not in the empty one
    monkeypatch.setattr(catalog, "_CATALOG", {})
    monkeypatch.setattr(catalog, "catalog", dict)  # an empty catalog
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert main(["prune", "all", "-y"], out=out, err=err) == 1
    assert err.getvalue() == "kamal-nb prune all: not available in kamal_nb yet\n"
    out, err = io.StringIO(), io.StringIO()
    assert main(["config"], out=out, err=err) == 1
    assert out.getvalue().startswith("  \x1b[31mERROR (RuntimeError): Configuration file not found in ")
    out = io.StringIO()
    assert main(["version"], out=out) == 0 and "Kamal 2.12.0" in out.getvalue()


def test_an_operation_error_is_one_line_and_nothing_is_contacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml

    (tmp_path / "config").mkdir()
    config = {
        "service": "demo",
        "image": "demo",
        "servers": ["127.0.0.9"],  # loopback: were anything sent, it would stay on this machine
        "registry": {"server": "127.0.0.1:5999", "username": "u", "password": "p"},
        "builder": {"arch": "amd64"},
    }
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    hooks = tmp_path / ".kamal" / "hooks"
    hooks.mkdir(parents=True)
    (hooks / "pre-connect").write_text("#!/bin/sh\necho 'VPN is down' >&2\nexit 3\n")
    (hooks / "pre-connect").chmod(0o755)
    monkeypatch.chdir(tmp_path)
    out, err = io.StringIO(), io.StringIO()
    assert main(["deploy", "-P", "-y", "--version", "v1"], out=out, err=err) == 1
    assert err.getvalue() == "kamal-nb deploy: Hook `pre-connect` failed:\nVPN is down\n"
    out, err = io.StringIO(), io.StringIO()
    assert main(["accessory", "details", "nope"], out=out, err=err) == 1
    assert err.getvalue() == "kamal-nb accessory details: No accessory by the name of 'nope'\n"
    # every command that connects runs it first, a read-only one too (Kamal: before its first `on`)
    out, err = io.StringIO(), io.StringIO()
    assert main(["lock", "status", "--version", "v1"], out=out, err=err) == 1
    assert err.getvalue() == "kamal-nb lock status: Hook `pre-connect` failed:\nVPN is down\n"
    # once per command, with its name; commands that stay on this machine do not run it
    (hooks / "pre-connect").write_text('#!/bin/sh\necho "$KAMAL_COMMAND $KAMAL_SUBCOMMAND" >> connects.log\n')
    main(["rollback", "v1", "-y", "--version", "v1"], out=io.StringIO(), err=io.StringIO())  # 127.0.0.9: no answer
    main(["app", "boot", "-y", "--version", "v1"], out=io.StringIO(), err=io.StringIO())
    assert main(["secrets", "print"], out=io.StringIO(), err=io.StringIO()) == 0
    assert (tmp_path / "connects.log").read_text() == "rollback \napp boot\n"
