"""Read-only operations and the deploy lock on the real fleet, beside the real Kamal."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.lock.deploy_lock import LockError, holding, read_status
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.selection import SelectionError
from kamal_nb.ops.session import Context, Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import run, set_up_with_kamal
from tests.fleet.project import real_kamal

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app deployed at v1 by the real Kamal: web on h1, h2 (behind the proxy), jobs on h3."""
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("app"))


def test_details_shows_what_kamal_shows_in_one_round_trip_per_host(
    session: Session, project: Path, fleet: FleetInfo
) -> None:
    h1, h2, h3 = fleet.host_ips
    result = run(session, ("details",))
    assert result.ok
    assert "demo-web-v1" in result.output(h1) and "kamal-proxy" in result.output(h1)
    assert "demo-web-v1" in result.output(h2)
    assert "demo-jobs-v1" in result.output(h3) and "kamal-proxy" not in result.output(h3)
    assert [c.command.split(" ")[1] for c in result.hosts[h1].commands] == ["ps", "ps"]  # proxy, then app
    kamal = real_kamal(project, "details", "-q")
    assert kamal.returncode == 0
    for host in fleet.host_ips:  # every container line Kamal printed, kamal_nb found too
        for line in result.output(host).splitlines()[1:]:
            assert line.split()[0] in kamal.stdout
    runner = session.context().runner
    opened = runner.pool.opened
    run(session, ("details",))
    assert runner.pool.opened == opened, "a warm session opens no new connection"


def test_version_containers_images_and_audit(session: Session, fleet: FleetInfo) -> None:
    h1, _, h3 = fleet.host_ips
    version = run(session, ("app", "version"))
    assert {host: version.output(host) for host in fleet.host_ips} == {ip: "v1\n" for ip in fleet.host_ips}
    assert "demo-jobs-v1" in run(session, ("app", "containers")).output(h3)
    assert f"{fleet.registry}/demo" in run(session, ("app", "images")).output(h1)
    audit = run(session, ("audit",))
    assert "[operator@example.test]" in audit.output(h1) and "Booted app version v1" in audit.output(h1)


def test_host_selection_follows_kamals_rules(session: Session, fleet: FleetInfo) -> None:
    h1, h2, h3 = fleet.host_ips
    assert list(run(session, ("app", "version"), roles=("jobs",)).hosts) == [h3]
    assert list(run(session, ("app", "version"), hosts=("*.12",)).hosts) == [h2]
    assert list(run(session, ("app", "version"), primary=True).hosts) == [h1]
    assert list(run(session, ("app", "version"), roles=("j*",), primary=True).hosts) == [h3]
    with pytest.raises(SelectionError, match="No --roles match for nope"):
        run(session, ("app", "version"), roles=("nope",))
    with pytest.raises(SelectionError, match=r"No --hosts match for 10\.9\.9\.9"):
        run(session, ("app", "version"), hosts=("10.9.9.9",))


def test_plan_lists_commands_without_running_anything(session: Session, fleet: FleetInfo) -> None:
    plan = catalog.lookup(("details",)).plan(session.context(), {})
    text = str(plan)
    assert text.splitlines()[0] == "Plan: kamal details (5 steps on 3 hosts)"
    assert "docker ps --filter label=service=demo --filter label=destination= --filter label=role=jobs" in text
    assert session.context().runner.pool.opened == 0


def test_a_lock_taken_by_kamal_is_seen_and_respected(session: Session, project: Path) -> None:
    taken = real_kamal(project, "lock", "acquire", "-m", "Investigating an incident")
    assert taken.returncode == 0, taken.stderr
    try:
        ctx = session.context()
        status = read_status(ctx)
        assert status is not None
        assert (status.holder, status.message) == ("Test Operator", "Investigating an incident")
        with pytest.raises(LockError, match="Deploy lock found") as held, holding(ctx):
            pytest.fail("the lock is held: nothing may run")
        assert held.value.holder == status
        waiting = session.context(GlobalOptions(lock_wait=True, lock_wait_interval=0.2))
        with pytest.raises(LockError, match="held manually, not waiting"), holding(waiting):
            pytest.fail("a manual lock is not waited for")
    finally:
        assert real_kamal(project, "lock", "release").returncode == 0
    assert read_status(session.context()) is None
    nobody = run(session, ("lock", "status"))
    # "no lock" is an answer, not a failure: the host's row is ok although `stat` exited 1
    assert nobody.ok and nobody.messages == ("There is no deploy lock",)
    (primary,) = nobody.hosts
    assert [c.exit_code for c in nobody.hosts[primary].commands] == [1]
    table = nobody.df
    assert list(table["status"]) == ["ok"] and table["exit_code"].isna().all(), "no exit code 1 in the table"
    assert "no deploy lock" in str(nobody)


def test_a_lock_taken_by_kamal_nb_is_seen_by_kamal(session: Session, project: Path) -> None:
    result = catalog.perform(session.context(), ("lock", "acquire"), {"message": "Rotating secrets"}, yes=True)
    assert isinstance(result, OperationResult) and result.messages == ("Acquired the deploy lock",)
    # the lock as taken, on the primary host: its row is ok (not interrupted) and the data says who
    primary = session.context().selection.primary_host
    assert primary is not None
    assert result.ok and result.hosts[primary].ok and result.hosts[primary].commands
    assert result.data is not None and result.data.message == "Rotating secrets"
    assert "Message: Rotating secrets" in result.output(primary)
    status = real_kamal(project, "lock", "status")
    assert "Locked by: Test Operator at " in status.stdout and "Message: Rotating secrets" in status.stdout
    refused = real_kamal(project, "redeploy", "-P", "--version", "v2")
    assert refused.returncode != 0 and "Deploy lock found" in refused.stdout + refused.stderr
    released = catalog.perform(session.context(), ("lock", "release"), {}, yes=True)
    assert isinstance(released, OperationResult) and released.messages == ("Released the deploy lock",)
    assert "There is no deploy lock" in real_kamal(project, "lock", "status").stdout


def test_the_automatic_lock_is_released_on_failure_and_interrupt(session: Session, project: Path) -> None:
    ctx = session.context()
    for error in (RuntimeError("boom"), KeyboardInterrupt()):
        with pytest.raises(type(error)), holding(ctx):
            assert "Automatic deploy lock" in (read_status(ctx) or pytest.fail("not locked")).text
            raise error
        assert read_status(ctx) is None


def test_lock_wait_waits_for_an_automatic_lock(session: Session, project: Path) -> None:
    import threading

    holder: Context = session.context()
    waiter = session.context(GlobalOptions(lock_wait=True, lock_wait_interval=0.3, lock_wait_timeout=20))
    entered = threading.Event()
    release = threading.Event()

    def hold() -> None:
        with holding(holder):
            entered.set()
            release.wait(10)

    thread = threading.Thread(target=hold)
    thread.start()
    assert entered.wait(10)
    threading.Timer(1.0, release.set).start()
    with holding(waiter):
        assert "Automatic deploy lock" in (read_status(waiter) or pytest.fail("not locked")).text
    thread.join()


def test_a_host_that_is_down_gets_its_own_failed_row(session: Session, fleet_control: Fleet, fleet: FleetInfo) -> None:
    down = fleet.hosts[2]
    fleet_control.stop_sshd(down.name)
    try:
        result = run(session, ("details",))
    finally:
        fleet_control.start_sshd(down.name)
    assert set(result.hosts.succeeded) == {h.ip for h in fleet.hosts[:2]}
    assert "connection refused" in (result.hosts[down.ip].failure or "")
    table = result.hosts_df  # one row a host (`.df` is the answer: the containers, the host's failure)
    assert list(table["status"]) == ["ok", "ok", "FAILED"]
    assert result.df.loc[result.df.host == down.ip, "status"].tolist() == ["FAILED"]
    assert "FAILED on 1 of 3 hosts" in str(result)
