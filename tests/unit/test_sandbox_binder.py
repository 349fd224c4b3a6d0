"""binder/: what repo2docker reads, and `start` preparing the sandbox fleet before the server starts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

BINDER = Path(__file__).resolve().parents[2] / "binder"


def test_runtime_and_requirements() -> None:
    assert (BINDER / "runtime.txt").read_text() == "python-3.12\n"
    lines = [line.strip() for line in (BINDER / "requirements.txt").read_text().splitlines()]
    assert [line for line in lines if line and not line.startswith("#")] == ["."]


def test_start_selects_and_creates_the_sandbox_then_execs(tmp_path: Path) -> None:
    start = BINDER / "start"
    assert os.access(start, os.X_OK) and start.read_text().splitlines()[-1] == 'exec "$@"'
    env = {
        "HOME": str(tmp_path),
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "KERNEL_PYTHON_PREFIX": sys.prefix,
    }
    probe = [
        sys.executable,
        "-c",
        "import json, os; print(json.dumps({k: v for k, v in os.environ.items() if k.startswith('KAMAL_NB')}))",
    ]
    for _ in range(2):  # the second launch finds the fleet there
        done = subprocess.run([str(start), *probe], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen == {
            "KAMAL_NB_BACKEND": "sandbox",
            "KAMAL_NB_SANDBOX_DIR": f"{tmp_path}/.kamal-nb-sandbox",
            "KAMAL_NB_SANDBOX_PROJECT": f"{tmp_path}/.kamal-nb-sandbox/project",
        }
    root = tmp_path / ".kamal-nb-sandbox"
    assert json.loads((root / "sandbox.json").read_text())["hosts"] == ["10.200.0.11", "10.200.0.12", "10.200.0.13"]
    assert (root / "project/config/deploy.yml").is_file() and (root / "bin/docker").is_file()
