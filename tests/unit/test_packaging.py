"""A plain `pip install .` gives a working `kamal-nb` script and `python -m kamal_nb`."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import kamal_nb

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_plain_install_provides_the_console_script_and_module(tmp_path: Path) -> None:
    target = tmp_path / "site"
    # --no-deps: the dependencies are already importable here; what is checked is the wheel itself.
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "-q",
            "--no-deps",
            "--no-build-isolation",
            "--target",
            str(target),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    assert (target / "kamal_nb" / "testing" / "images" / "kamal-proxy" / "kamal-proxy").is_file()
    env = {**os.environ, "PYTHONPATH": str(target)}
    module = subprocess.run(
        [sys.executable, "-m", "kamal_nb", "--version"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert module.returncode == 0
    assert module.stdout.strip() == f"kamal-nb {kamal_nb.__version__} (Kamal {kamal_nb.KAMAL_COMPAT_VERSION})"
    script = subprocess.run(
        [str(target / "bin" / "kamal-nb"), "--help"], env=env, cwd=tmp_path, capture_output=True, text=True
    )
    assert script.returncode == 0
    assert script.stdout.startswith("usage: kamal-nb")
