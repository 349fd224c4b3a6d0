"""A local command (Kamal's `run_locally`) is bound by the same command time limit as the hosts'."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet.results import GroupResult
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from tests.unit.test_ops_plans import project


def test_a_hanging_local_command_ends_at_the_command_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "docker").write_text("#!/bin/sh\nexec sleep 60\n")
    (bin_dir / "docker").chmod(0o755)
    session = Session(root=project(tmp_path), env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"})
    session.command_timeout = 1.0
    monkeypatch.setenv("PATH", f"{bin_dir}:/usr/bin:/bin")
    started = time.monotonic()
    try:
        ctx = session.context(GlobalOptions())
        outcome = catalog.attempt(ctx, ("registry", "logout"), {"skip_remote": True}, yes=True)
    finally:
        session.close()
    assert time.monotonic() - started < 10
    result = outcome.value
    assert isinstance(result, OperationResult) and not result.ok
    assert isinstance(result.hosts, GroupResult)
    (command,) = result.hosts.results["local"].commands
    assert command.exit_code == 124 and command.stderr == "timed out after 1 s (command_timeout)\n"
