"""The operation catalog: what needs --yes, and that every operation has a command in the tree."""

from __future__ import annotations

import kamal_nb.state.operation  # noqa: F401 (registers `state`)
from kamal_nb.ops import catalog


def test_stale_containers_needs_yes_only_to_stop() -> None:
    operation = catalog.lookup(("app", "stale_containers"))
    assert operation.changes_hosts({}) is False
    assert operation.changes_hosts({"stop": True}) is True


def test_reads_never_need_yes_and_changes_always_do() -> None:
    operations = catalog.catalog()
    for path in [("details",), ("app", "version"), ("lock", "status"), ("audit",), ("state",)]:
        assert not operations[path].changes_hosts({}), path
    for path in [("deploy",), ("redeploy",), ("rollback",), ("env", "push"), ("lock", "release"), ("remove",)]:
        assert operations[path].changes_hosts({}), path
