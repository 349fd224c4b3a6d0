"""The sandbox fleet against the real one: the same operations (setup v1, redeploy v2, rollback v1, a
lock) run by kamal_nb on both, then the state tables compared row by row, ignoring what differs by
nature (container and image ids, times, the random suffix of replaced containers).

The sandbox is a demo device (Binder); this is what keeps it honest: a difference here means a notebook
on Binder would show something the real fleet never would."""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Any

import pytest

from kamal_nb import cli_tree
from kamal_nb.ops import catalog
from kamal_nb.ops.session import Session
from kamal_nb.sandbox.backend import sandbox_backend
from kamal_nb.sandbox.fleet import create_sandbox
from kamal_nb.state import FleetState, gather
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import write_project

pytestmark = pytest.mark.fleet

SEQUENCE = ("setup -P --version v1", "redeploy -P --version v2", "rollback v1", "lock acquire -m differential")
# what each table is compared on: everything but ids, times and sizes
COMPARED = {
    "servers": ["host", "roles", "primary", "reachable", "proxy_running", "lock_held", "app_running", "app_containers"],
    "releases": ["host", "role", "version", "container", "state", "health", "running", "stale", "rollback_versions"],
    "containers": ["host", "kind", "name", "role", "version", "replaced", "current", "image", "state", "exit_code"],
    "images": ["host", "repository", "tag", "version", "latest", "containers", "current", "status"],
    "lock": ["host", "primary", "locked_by", "message", "automatic"],  # not its version: each project's git head
    "audit": ["host", "role", "performer", "message"],
    "findings": ["severity", "kind", "host", "role", "message"],
}


def perform(session: Session, line: str) -> Any:
    invocation = cli_tree.parse(shlex.split(line))
    ctx = session.context(invocation.options({"config_file": "config/deploy.yml", "destination": None}))
    result = catalog.perform(ctx, invocation.path, dict(invocation.args), yes=True)
    assert getattr(result, "ok", True), f"{line} on the {'sandbox' if session.backend else 'real'} fleet:\n{result}"
    return result


def normalised(state: FleetState, table: str) -> list[tuple[str, ...]]:
    frame = state.tables[table].df
    columns = [c for c in COMPARED[table] if c in frame.columns]
    assert columns, f"{table}: none of {COMPARED[table]} in {list(frame.columns)}"
    rows = []
    for record in frame[columns].astype(object).where(frame[columns].notna(), None).to_dict("records"):
        cells = []
        for column in columns:
            value = "" if record[column] is None else str(record[column])
            value = re.sub(r"_replaced_[0-9a-f]{16}", "_replaced_X", value)
            value = re.sub(r"held for [0-9hms ]+\(", "held for T (", value)  # a lock's age
            cells.append(f"{column}={value}")
        rows.append(tuple(cells))
    return sorted(rows)


@pytest.fixture(scope="module")
def states(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> dict[str, FleetState]:
    fleet_control.reset_hosts()
    real_project = write_project(tmp_path_factory.mktemp("real"), fleet)
    subnet = fleet.host_ips[0].rsplit(".", 1)[0]  # the same host names and registry on both
    sandbox = create_sandbox(tmp_path_factory.mktemp("sandbox") / "fleet", hosts=len(fleet.hosts), subnet=subnet)
    assert list(sandbox.hosts) == fleet.host_ips and sandbox.registry == fleet.registry
    sessions = {
        "real": Session(root=Path(real_project)),
        "sandbox": Session(root=sandbox.project, backend=sandbox_backend(sandbox.root)),
    }
    out: dict[str, FleetState] = {}
    try:
        for name, session in sessions.items():
            for line in SEQUENCE:
                perform(session, line)
            out[name] = gather(session.context())
    finally:
        for session in sessions.values():
            session.close()
    return out


def test_the_sequence_left_v1_running_with_v2_to_roll_back_to_and_a_lock(states: dict[str, FleetState]) -> None:
    for name, state in states.items():
        assert {v for versions in state.versions().values() for v in versions} == {"v1"}, name
        assert set(state.versions()) == {"web", "jobs"}, name
        assert "v2" in set(state.releases.df.rollback_versions), name
        assert len(state.lock.df) == 1, f"{name}: the lock is held"


@pytest.mark.parametrize("table", list(COMPARED))
def test_the_sandbox_leaves_the_same_state_as_the_real_fleet(states: dict[str, FleetState], table: str) -> None:
    real, sandbox = normalised(states["real"], table), normalised(states["sandbox"], table)
    only_real = [row for row in real if row not in sandbox]
    only_sandbox = [row for row in sandbox if row not in real]
    assert not only_real and not only_sandbox, (
        f"{table} differs\nonly on the real fleet:\n"
        + "\n".join(map(str, only_real))
        + "\nonly on the sandbox:\n"
        + "\n".join(map(str, only_sandbox))
    )
