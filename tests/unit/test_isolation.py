"""The suite leaves the user's machine alone: run logs, IPython history and user config go to a HOME
of the test run's own (tests/conftest.py), in this process and in every process a test starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from kamal_nb.ops.runlog import run_log_path
from tests.conftest import USER_RUN_LOG


def test_the_run_log_is_the_test_runs_own(test_home: Path) -> None:
    assert Path.home() == test_home and os.environ["HOME"] == str(test_home)
    assert "KAMAL_NB_RUN_LOG" not in os.environ
    where = run_log_path()
    assert where.is_relative_to(test_home) and where != USER_RUN_LOG
    assert not where.is_relative_to(USER_RUN_LOG.parent)


def test_a_subprocess_writes_its_run_log_under_the_test_home(test_home: Path, tmp_path: Path) -> None:
    code = "import json; from kamal_nb.ops.runlog import run_log_path; print(json.dumps(str(run_log_path())))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert Path(json.loads(out)).is_relative_to(test_home)
