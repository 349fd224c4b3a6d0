"""`kamal-nb` as a terminal user runs it imports only what the command needs.

Each command runs as its own process (`python -m kamal_nb ...`) against a sandbox fleet and leaves
the list of the modules it imported (sys.modules at exit), so an import anywhere (a package
__init__, an operation module, the error handling) is seen.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kamal_nb.sandbox.fleet import create_sandbox

# what a notebook needs, never a terminal command: the tables, the widgets, the docker SDK, IPython
HEAVY = {"pandas", "numpy", "ipywidgets", "IPython", "docker", "matplotlib"}
# SSH and the YAML parser are what a fleet question needs; `version` needs none of it
CONNECTING = {"fabric", "paramiko", "invoke", "cryptography", "yaml"}


# `python -m kamal_nb ARGV` as the console script runs it, writing sys.modules to a file at exit
# (`-X importtime` would miss what importlib.import_module loads: the catalog's operation modules)
RUN_AND_DUMP = """
import atexit, json, runpy, sys
dump, sys.argv = sys.argv[1], ["kamal-nb", *sys.argv[2:]]
atexit.register(lambda: open(dump, "w").write(json.dumps(sorted(sys.modules))))
runpy.run_module("kamal_nb", run_name="__main__", alter_sys=True)
"""


def modules_of(argv: list[str], cwd: Path, env: dict[str, str]) -> set[str]:
    """Every module `kamal-nb ARGV`, run as a process, had imported when it exited (it must succeed)."""
    dump = cwd.parent / "modules.json"
    done = subprocess.run(
        [sys.executable, "-c", RUN_AND_DUMP, str(dump), *argv],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), f"kamal-nb {' '.join(argv)}: {done.stdout[-1500:]}{done.stderr[-1500:]}"
    assert "Traceback" not in done.stderr, done.stderr[-1500:]
    modules = set(json.loads(dump.read_text()))
    dump.unlink()
    assert "kamal_nb.cli" in modules  # it ran
    return modules


def imported(argv: list[str], cwd: Path, env: dict[str, str]) -> set[str]:
    """The top-level names of the modules `kamal-nb ARGV` imported."""
    return {name.split(".")[0] for name in modules_of(argv, cwd, env)}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("sandbox")
    create_sandbox(root / "fleet", hosts=3)
    env = {**os.environ, "KAMAL_NB_BACKEND": "sandbox", "KAMAL_NB_SANDBOX_DIR": str(root / "fleet")}
    return root / "fleet" / "project", env


def test_version_imports_nothing_but_its_own_version(sandbox: tuple[Path, dict[str, str]]) -> None:
    project, env = sandbox
    names = imported(["version"], project, env)
    assert not names & (HEAVY | CONNECTING), names & (HEAVY | CONNECTING)
    own = {name for name in modules_of(["version"], project, env) if name.startswith("kamal_nb")}
    assert own == {"kamal_nb", "kamal_nb.cli", "kamal_nb.version"}, own


@pytest.mark.parametrize(
    "argv",
    [
        ["details"],
        ["lock", "status"],
        ["audit"],
        ["app", "details"],
        ["plan", "deploy"],
        ["plan", "rollback", "v1"],
        ["config"],
    ],
    ids=" ".join,
)
def test_a_terminal_command_imports_no_notebook_library(argv: list[str], sandbox: tuple[Path, dict[str, str]]) -> None:
    project, env = sandbox
    names = imported(argv, project, env)
    assert not names & HEAVY, f"kamal-nb {' '.join(argv)} imported {sorted(names & HEAVY)}"


def test_a_fleet_question_imports_no_deploy_operation(sandbox: tuple[Path, dict[str, str]]) -> None:
    project, env = sandbox
    modules = modules_of(["details"], project, env)
    for module in (
        "kamal_nb.ops.main.deploy",
        "kamal_nb.ops.build.deliver",
        "kamal_nb.state.fleet_state",
        "kamal_nb.notebook",
        "kamal_nb.ops.follow",  # `logs -f` and `exec --stream` only
        "kamal_nb.fleet.stream",
        "kamal_nb.ruby.evaluator",  # a config without ERB needs no Ruby interpreter
        "kamal_nb.ruby.parser",
    ):
        assert module not in modules
    assert "kamal_nb.ops.questions" in modules  # the question's own operation


def test_the_lock_age_guard_holds_from_the_command_line(sandbox: tuple[Path, dict[str, str]]) -> None:
    # the catalog imports operation modules lazily: `lock release --older-than` must still be guarded
    project, env = sandbox

    def kamal_nb(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kamal_nb", *argv], cwd=project, env=env, capture_output=True, text=True, timeout=120
        )

    assert kamal_nb("lock", "acquire", "-m", "a deploy still running", "-y").returncode == 0
    try:
        young = kamal_nb("lock", "release", "--older-than", "1h", "-y")
        assert young.returncode == 1, young.stdout + young.stderr
        assert "not older than 1h" in young.stdout + young.stderr
        assert "a deploy still running" in kamal_nb("lock", "status").stdout
    finally:
        assert kamal_nb("lock", "release", "-y").returncode == 0
    assert "There is no deploy lock" in kamal_nb("lock", "status").stdout


def test_every_streaming_command_is_one_the_command_line_looks_for() -> None:
    # kamal-nb imports the follow machinery only for a command ending in logs or exec
    from kamal_nb.ops.follow import FOLLOWED_LOGS, STREAMED_EXECS

    assert {path[-1] for path in FOLLOWED_LOGS | STREAMED_EXECS} <= {"logs", "exec"}


def test_a_streaming_command_still_streams(sandbox: tuple[Path, dict[str, str]]) -> None:
    project, env = sandbox
    modules = modules_of(["server", "exec", "--stream", "echo streamed"], project, env)
    assert "kamal_nb.ops.follow" in modules
    done = subprocess.run(
        [sys.executable, "-m", "kamal_nb", "server", "exec", "--stream", "echo streamed"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and "| streamed" in done.stdout, done.stdout + done.stderr
    assert "kamal server exec --stream: followed 3 stream(s)" in done.stderr
