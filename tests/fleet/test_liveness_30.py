"""A silent host among 30 (issue 16, "with 30 hosts too"): one web host's SSH packets are dropped
while its new container starts during a redeploy. The redeploy ends within 90 s, that host's row
is "lost", the deploy lock is released, and the 29 others are as Kamal leaves them: the new version
running, the old one stopped.

A 30-host fleet of its own (its own names and subnet, ~120 MiB a host), torn down whatever happens.
Run with its own fleet number: `KAMAL_NB_TEST_FLEET=4 .venv/bin/pytest tests/fleet/test_liveness_30.py`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.ops.lock.deploy_lock import read_status
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import require_fleet, run
from tests.fleet.project import deploy_config, write_project
from tests.fleet.reliability import on_event, output_after

pytestmark = [pytest.mark.fleet, pytest.mark.slow]

HOSTS = 30
SILENT = 17  # h17: a host in the middle, neither the primary nor the last
_ID = os.environ.get("KAMAL_NB_TEST_FLEET", "")
_N = _ID if _ID.isdigit() and len(_ID) == 1 else "x"
# a silent host is lost after 10 s: room for 30 busy hosts on a few cores to answer in time
LIVENESS = {"keepalive_interval": 2.0, "keepalive_count_max": 5}


@pytest.fixture(scope="module")
def big_fleet() -> Iterator[tuple[Fleet, FleetInfo]]:
    require_fleet()
    repo = Path(__file__).resolve().parents[2]
    subnet = f"10.23{_N}.0" if _N != "x" else "10.239.0"
    fleet = Fleet(repo / ".fleet" / f"live30-{_N}", prefix=f"l{_N}-", bridge=f"l{_N}br0", subnet=subnet)
    try:
        yield fleet, fleet.up(HOSTS)
    finally:
        fleet.down()
        leftovers = fleet.leftover_pids()
        assert not leftovers, f"processes of the 30-host fleet still running after down: {leftovers}"


@pytest.fixture(scope="module")
def project(big_fleet: tuple[Fleet, FleetInfo], tmp_path_factory: pytest.TempPathFactory) -> Path:
    _, info = big_fleet
    config = deploy_config(info, servers={"web": list(info.host_ips)}, deploy_timeout=10)
    project = write_project(tmp_path_factory.mktemp("liveness30"), info, config)
    session = Session(root=project, **LIVENESS)  # type: ignore[arg-type]
    try:
        setup = run(session, ("setup",), {"skip_push": True}, version="v1")
        assert setup.ok, str(setup)
    finally:
        session.close()
    return project


def containers(info: FleetInfo, index: int) -> dict[str, str]:
    """The demo app's containers on a host and their states, asked of its engine (bypassing SSH)."""
    import docker

    client = docker.DockerClient(base_url=info.hosts[index].docker_socket, timeout=30)
    try:
        return {
            str(c.name): str(c.status) for c in client.containers.list(all=True) if c.labels.get("service") == "demo"
        }
    finally:
        client.close()


def test_one_silent_host_of_30_is_lost_and_the_redeploy_ends(big_fleet: tuple[Fleet, FleetInfo], project: Path) -> None:
    fleet, info = big_fleet
    silent = info.host_ips[SILENT - 1]
    # the connect timeout (which also bounds opening a channel) longer than the liveness rule's 10 s:
    # whether the host went silent in a command or between two, the rule is what gives it up
    session = Session(root=project, connect_timeout=20, **LIVENESS)  # type: ignore[arg-type]
    dropped = threading.Event()

    def drop() -> None:
        fleet.drop_ssh_packets(f"h{SILENT}")
        dropped.set()

    try:
        with on_event(session, output_after(silent, "docker run"), drop) as fired:
            started = time.monotonic()
            result = run(session, ("redeploy",), {"skip_push": True}, version="v2")
            took = time.monotonic() - started
        assert fired.is_set(), str(result)
        assert took < 90, took
        text = str(result)
        assert result.hosts[silent].status == "lost", text
        assert list(result.hosts.lost) == [silent], text
        assert "lost: no answer for" in (result.hosts[silent].failure or ""), text
        assert f"FAILED on 1 of {HOSTS} hosts (1 lost)" in text, text
        assert list(result.hosts_df.set_index("host")["status"]).count("ok") == HOSTS - 1, text
        assert read_status(session.context()) is None, "the deploy lock must be released"
    finally:
        session.close()
        if dropped.is_set():
            fleet.drop_ssh_packets(f"h{SILENT}", drop=False)
    # as Kamal leaves them: on every other host the new version runs and the old one is stopped
    for index, ip in enumerate(info.host_ips):
        if ip == silent:
            continue
        found = containers(info, index)
        assert found.get("demo-web-v2") == "running", (ip, found)
        assert found.get("demo-web-v1") == "exited", (ip, found)
