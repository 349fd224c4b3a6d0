"""Concurrent operators on the real fleet: two kernels deploying at once, kamal_nb beside the real Kamal,
and --lock-wait. Exactly one deploy proceeds; the other is told who holds the lock.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=2 .venv/bin/pytest tests/fleet/test_reliability_concurrency.py`.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import Started
from kamal_nb.ops.lock.deploy_lock import LockError, read_status
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import perform, run
from tests.fleet.project import real_kamal, write_project
from tests.fleet.reliability import assert_intact, web_versions

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    fleet_control.reset_hosts()
    project = write_project(tmp_path_factory.mktemp("concurrent"), fleet)
    session = Session(root=project)
    try:
        assert run(session, ("setup",), {"skip_push": True}, version="v1").ok
    finally:
        session.close()
    return project


@pytest.fixture
def slow_hook(project: Path) -> Iterator[None]:
    """A pre-deploy hook that holds the lock for 3 s, so that two deploys started together overlap."""
    hook = project / ".kamal" / "hooks" / "pre-deploy"
    hook.parent.mkdir(parents=True, exist_ok=True)
    hook.write_text("#!/bin/sh\nsleep 3\n")
    hook.chmod(0o755)
    yield
    hook.unlink()


def target(fleet: FleetInfo) -> str:
    return "v2" if set(web_versions(fleet).values()) == {"v1"} else "v1"


def together(*calls: Callable[[], object]) -> list[object]:
    """Start the calls at the same moment in threads; each one's return value or exception."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[object] = [None] * len(calls)

    def call(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = calls[index]()
        except Exception as error:
            outcomes[index] = error

    threads = [threading.Thread(target=call, args=(i,)) for i in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


@pytest.mark.usefixtures("slow_hook")
def test_two_kernels_deploying_at_once(project: Path, fleet: FleetInfo) -> None:
    version = target(fleet)
    first, second = Session(root=project), Session(root=project)
    try:
        outcomes = together(
            *(lambda s=s: perform(s, ("redeploy",), {"skip_push": True}, version=version) for s in (first, second))
        )
        done = [o for o in outcomes if isinstance(o, OperationResult)]
        refused = [o for o in outcomes if isinstance(o, LockError)]
        assert len(done) == 1 and len(refused) == 1, outcomes
        assert done[0].ok, str(done[0])
        error = refused[0]
        assert "Deploy lock found" in str(error)
        assert error.holder is not None and error.holder.holder == "Test Operator"
        assert error.holder.version == version and "Automatic deploy lock" in error.holder.message
        assert "Locked by: Test Operator at " in str(error)
        assert_intact(first, fleet, version)
    finally:
        first.close()
        second.close()


@pytest.mark.usefixtures("slow_hook")
def test_kamal_nb_and_the_real_kamal_at_once(project: Path, fleet: FleetInfo) -> None:
    version = target(fleet)
    session = Session(root=project)
    try:
        ours, kamal = together(
            lambda: perform(session, ("redeploy",), {"skip_push": True}, version=version),
            lambda: real_kamal(project, "redeploy", "-P", "--version", version),
        )
        assert isinstance(kamal, subprocess.CompletedProcess)
        kamal_ok = kamal.returncode == 0
        ours_ok = isinstance(ours, OperationResult) and ours.ok
        assert kamal_ok != ours_ok, (ours, kamal.stdout[-1500:], kamal.stderr[-1500:])
        if ours_ok:  # Kamal was refused and printed our lock's details
            assert "Deploy lock found" in kamal.stdout + kamal.stderr
            assert "Locked by: Test Operator" in kamal.stdout + kamal.stderr
        else:  # we were refused with the details of the lock Kamal held
            assert isinstance(ours, LockError) and ours.holder is not None, ours
            assert ours.holder.holder == "Test Operator" and ours.holder.version == version
        assert_intact(session, fleet, version)
    finally:
        session.close()


@pytest.mark.usefixtures("slow_hook")
def test_lock_wait_waits_for_the_holder_and_then_proceeds(project: Path, fleet: FleetInfo) -> None:
    version = target(fleet)
    holder, waiter = Session(root=project), Session(root=project)
    attempts: list[str] = []
    unsubscribe = waiter.events.subscribe(
        lambda e: (
            attempts.append(e.display) if isinstance(e, Started) and "mkdir .kamal/lock-demo" in e.display else None
        )
    )
    outcome: list[object] = []
    first = threading.Thread(
        target=lambda: outcome.append(perform(holder, ("redeploy",), {"skip_push": True}, version=version))
    )
    try:
        first.start()
        deadline = time.monotonic() + 30
        while read_status(waiter.context()) is None:  # the holder has the lock: now the waiter starts
            assert time.monotonic() < deadline and first.is_alive(), "the first deploy never took the lock"
            time.sleep(0.05)
        waited = run(
            waiter, ("redeploy",), {"skip_push": True}, version=version, lock_wait=True, lock_wait_interval=0.5
        )
        first.join()
        assert isinstance(outcome[0], OperationResult) and outcome[0].ok
        assert waited.ok, str(waited)
        assert len(attempts) >= 2, "the waiter found the lock held at least once, then took it"
        assert_intact(waiter, fleet, version)
    finally:
        unsubscribe()
        first.join()
        holder.close()
        waiter.close()


def test_a_lock_taken_by_hand_with_kamal_is_not_waited_for(project: Path, fleet: FleetInfo) -> None:
    message = "db migration; $(touch /tmp/pwned) `id` 'quoted' \"double\" ünïcode"
    taken = real_kamal(project, "lock", "acquire", "-m", message)
    assert taken.returncode == 0, taken.stdout + taken.stderr
    session = Session(root=project)
    try:
        with pytest.raises(LockError) as raised:
            perform(session, ("redeploy",), {"skip_push": True}, version=target(fleet), lock_wait=True)
        assert "held manually, not waiting" in str(raised.value)
        assert raised.value.holder is not None and raised.value.holder.message == message
    finally:
        released = real_kamal(project, "lock", "release")
        session.close()
    assert released.returncode == 0 and read_status(Session(root=project).context()) is None
