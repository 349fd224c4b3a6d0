"""Whether this machine has the docker CLI and its buildx plugin: Kamal's local dependency check
(``docker --version && docker buildx version``), run as a quiet probe that shows and changes nothing."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from pathlib import Path

DOCKER_MISSING = "Docker is not installed locally"
BUILDX_MISSING = "Docker buildx plugin is not installed locally"


def missing_tool(cwd: Path | str, env: Mapping[str, str]) -> str | None:
    """Kamal's DependencyError message when its check would fail here, else None."""
    for argv, problem in ((["docker", "--version"], DOCKER_MISSING), (["docker", "buildx", "version"], BUILDX_MISSING)):
        try:
            probe = subprocess.run(
                argv, cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, capture_output=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return DOCKER_MISSING
        if probe.returncode != 0:
            return problem
    return None
