"""The README's papermill line, run exactly as written (sandbox backend), and with `--log-output` the
per-host progress in papermill's log: how runbooks run headless on a schedule or in CI."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent.parent


def readme_papermill_line() -> str:
    lines = [line.strip() for line in (REPO / "README.md").read_text().splitlines()]
    found = [line for line in lines if line.startswith("papermill notebooks/")]
    assert len(found) == 1, f"the README has one papermill line, not {len(found)}"
    return found[0]


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A directory where the README's relative paths resolve: notebooks/ is the repository's."""
    (tmp_path / "notebooks").symlink_to(REPO / "notebooks")
    return tmp_path


def run_line(line: str, workdir: Path) -> subprocess.CompletedProcess[str]:
    bin_dir = str(Path(sys.executable).parent)  # papermill's console script, beside this Python
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "KAMAL_NB_SANDBOX_DIR": str(workdir / "sandbox"),  # never the user's ~/.kamal-nb-sandbox
        "KAMAL_NB_BACKEND": "sandbox",
    }
    return subprocess.run(
        ["bash", "-c", line], cwd=workdir, env=env, capture_output=True, text=True, timeout=600, check=False
    )


def outputs(notebook: Path) -> str:
    nb = json.loads(notebook.read_text())
    texts = []
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            text = output.get("text") or output.get("data", {}).get("text/plain", "")
            texts.append("".join(text) if isinstance(text, list) else text)
    return "\n".join(texts)


def test_the_readme_papermill_line_runs_as_written(workdir: Path) -> None:
    line = readme_papermill_line()
    assert "-p backend sandbox" in line and "-p confirm True" in line
    done = run_line(line, workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    executed = workdir / "out.ipynb"
    text = outputs(executed)
    assert "deployed v2: every host runs it and every web host serves it" in text
    assert "10.200.0.12: kamal-proxy serves v2" in text
    nb = json.loads(executed.read_text())
    assert nb["metadata"]["papermill"]["parameters"] == {"backend": "sandbox", "version": "v2", "confirm": True}


def test_log_output_shows_each_host_in_papermills_log(workdir: Path) -> None:
    done = run_line(readme_papermill_line() + " --log-output", workdir)
    assert done.returncode == 0, done.stderr[-3000:]
    log = done.stderr
    assert "Executing Cell" in log
    for host in ("10.200.0.11", "10.200.0.12", "10.200.0.13"):  # the deploy's host by role table
        assert re.search(rf"^{re.escape(host)}\s+(web|jobs)\s+\S+ → v2\s", log, re.MULTILINE), (
            f"{host} is not in the log"
        )
    assert "10.200.0.11: First web container is healthy, booting any other roles" in log
    assert "deployed v2" in log
