"""Fixtures of the fleet tests: each module provides its `project`; `session` opens it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.ops.session import Session


@pytest.fixture
def session(project: Path) -> Iterator[Session]:
    """A kamal_nb session on the module's project, closed (connections and all) after the test."""
    session = Session(root=project)
    yield session
    session.close()
