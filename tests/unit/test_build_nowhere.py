"""Nowhere to build, decided before any host is contacted (the hosts here do not exist)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kamal_nb.config.assemble import local_docker_arch
from kamal_nb.ops import catalog
from kamal_nb.ops.build.engines import EngineUnavailable
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from tests.unit.test_ops_plans import project

NOWHERE = "unix:///nonexistent/kamal-nb-unit/docker.sock"


def _push(root: Path) -> None:
    session = Session(root=root, env={**os.environ, "DOCKER_HOST": NOWHERE})
    try:
        catalog.perform(session.context(GlobalOptions(version="v9")), ("build", "push"), {}, yes=True)
    finally:
        session.close()


def test_no_local_engine_and_no_remote_builder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    with pytest.raises(EngineUnavailable) as raised:
        _push(project(tmp_path))
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"Nothing to build on: the local Docker engine at {NOWHERE} does not answer")
    assert "Set builder.remote (ssh://USER@HOST) in config/deploy.yml" in message
    assert "-P/--skip-push --version VERSION" in message


def test_a_remote_builder_that_kamal_would_not_use_for_this_arch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    here = local_docker_arch()  # Kamal builds this machine's own arch locally unless builder.local: false
    root = project(tmp_path, builder={"arch": here, "remote": "ssh://root@10.99.0.9"})
    with pytest.raises(EngineUnavailable) as raised:
        _push(root)
    assert "Set builder.local: false to build it on ssh://root@10.99.0.9" in str(raised.value)
