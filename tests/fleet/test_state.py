"""State tables on the real fleet, after the real Kamal deployed, rolled back, skewed and locked it.

One scenario, step by step (each Kamal step costs seconds): setup v1, deploy v2, rollback v1, a
skewed host (v2 on one web host), a stopped container, a stale one, a held lock, an old lock, an
unreachable host. After each, the state is gathered afresh and its tables and findings checked.
"""

from __future__ import annotations

import datetime
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.state import FleetState, gather
from kamal_nb.state.operation import OPERATION, StateResult
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.project import APP_SECRET, real_kamal, write_project
from tests.unit.test_state_tables import DTYPES

pytestmark = pytest.mark.fleet


def values(series: pd.Series[Any]) -> list[object]:
    return [None if pd.isna(v) else v for v in series.tolist()]


def kamal(project: Path, *args: str) -> None:
    done = real_kamal(project, *args)
    assert done.returncode == 0, f"kamal {' '.join(args)}:\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"


def docker_on(fleet: FleetInfo, name: str, *args: str) -> str:
    host = next(h for h in fleet.hosts if h.name == name)
    done = subprocess.run(["docker", "-H", host.docker_socket, *args], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def sessions_opened(fleet: FleetInfo) -> dict[str, int]:
    """`Starting session` lines so far in each host's sshd log (LogLevel VERBOSE): one per command."""
    return {
        h.name: (Path(fleet.base) / "nodes" / h.name / "sshd.log").read_text().count("Starting session:")
        for h in fleet.hosts
    }


@pytest.fixture
def project(clean_fleet: FleetInfo, tmp_path: Path) -> Path:
    return write_project(tmp_path / "app", clean_fleet)


@pytest.fixture
def state_of(project: Path) -> Iterator[Callable[..., FleetState]]:
    sessions: list[Session] = []

    def state(**options: Any) -> FleetState:
        session = Session(root=project)  # a fresh session: new connections every time
        sessions.append(session)
        now = options.pop("now", None)
        result = gather(session.context(GlobalOptions(**options)), now=now)
        assert_dtypes(result)
        return result

    yield state
    for session in sessions:
        session.close()


def assert_dtypes(state: FleetState) -> None:
    for name, table in state.tables.items():
        assert {c: str(t) for c, t in table.df.dtypes.items()} == DTYPES[name], name


def test_state_through_deploys_rollback_skew_stop_stale_and_lock(
    project: Path, fleet: FleetInfo, fleet_control: Fleet, state_of: Callable[..., FleetState]
) -> None:
    h1, h2, h3 = fleet.host_ips
    image = f"{fleet.registry}/demo"

    # -- setup v1 -------------------------------------------------------------------------------
    kamal(project, "setup", "-P", "--version", "v1")
    before = sessions_opened(fleet)
    state = state_of()
    assert {name: n - before[name] for name, n in sessions_opened(fleet).items()} == {"h1": 1, "h2": 1, "h3": 1}
    servers = state.servers.df
    assert servers.host.tolist() == [h1, h2, h3] and servers.roles.tolist() == ["web", "web", "jobs"]
    assert servers.reachable.all() and servers.docker_version.notna().all()
    assert servers.proxy_running.tolist() == [True, True, False]
    assert servers.lock_held.tolist() == [False, False, False] and servers.status.tolist() == ["ok"] * 3
    releases = state.releases.df
    assert releases.version.tolist() == ["v1"] * 3 and releases.status.tolist() == ["ok"] * 3
    assert releases.container.tolist() == ["demo-web-v1", "demo-web-v1", "demo-jobs-v1"]
    assert (releases.image == f"{image}:v1").all() and (releases.state == "running").all()
    assert releases.rollback_versions.isna().all()
    started = releases.started_at
    assert (started > pd.Timestamp.now(tz="UTC") - pd.Timedelta(minutes=5)).all()
    containers = state.containers.df
    assert sorted(containers.kind.astype(str)) == ["app"] * 3 + ["proxy"] * 2
    assert containers[containers.kind == "app"].current.all()
    images = state.images.df
    assert set(zip(images.host, images.tag, strict=True)) >= {(h, t) for h in (h1, h2, h3) for t in ("latest", "v1")}
    assert images[images.tag == "v1"].latest.all()
    audit = state.audit.df
    boots = audit[audit.message == "Booted app version v1"]
    assert sorted(zip(boots.host, boots.role.astype(str), strict=True)) == [(h1, "web"), (h2, "web"), (h3, "jobs")]
    assert (audit.performer == "operator@example.test").all() and (audit.status == "ok").all()
    assert len(state.lock) == 0 and state.finding_list == () and state.ok
    for table in state.tables.values():  # fleet output is redacted; secrets never reach a table
        assert APP_SECRET not in table.to_text() and fleet.registry_password not in table.to_html()

    # -- deploy v2 ------------------------------------------------------------------------------
    kamal(project, "deploy", "-P", "--version", "v2")
    state = state_of()
    releases = state.releases.df
    assert releases.version.tolist() == ["v2"] * 3 and releases.rollback_versions.tolist() == ["v1"] * 3
    containers = state.containers.df
    old = containers[(containers.kind == "app") & (containers.version == "v1")]
    assert len(old) == 3 and (old.state == "exited").all() and not old.current.any()
    assert set(old.status) == {"exited (0), rollback candidate"}
    images = state.images.df
    assert set(images[images.latest.astype(bool)].tag) == {"latest", "v2"}
    assert state.finding_list == ()

    # -- rollback to v1 -------------------------------------------------------------------------
    kamal(project, "rollback", "v1")
    state = state_of()
    releases = state.releases.df
    assert releases.version.tolist() == ["v1"] * 3 and releases.rollback_versions.tolist() == ["v2"] * 3
    assert releases.status.tolist() == ["ok"] * 3
    images = state.images.df
    assert set(images[images.latest.astype(bool)].tag) == {"latest", "v1"}
    audit = state.audit.df
    assert audit.message.str.contains("v1 as the latest image").sum() >= 6  # setup and rollback, 3 hosts

    # -- a skewed host: v2 on h2 only ---------------------------------------------------------------
    kamal(project, "deploy", "-P", "--version", "v2", "-h", h2)
    state = state_of()
    releases = state.releases.df
    assert releases.version.tolist() == ["v1", "v2", "v1"]
    assert releases.status.tolist() == ["version skew", "version skew", "ok"]  # 1 against 1: no majority
    skew = [f for f in state.finding_list if f.kind == "version_skew"]
    assert [(f.severity, f.role, f.message) for f in skew] == [
        ("warning", "web", f"role web runs v1 on {h1}, v2 on {h2}")
    ]
    assert state.versions() == {"web": {"v1": (h1,), "v2": (h2,)}, "jobs": {"v1": (h3,)}}

    # -- a stopped container and a stale one --------------------------------------------------------
    docker_on(fleet, "h3", "stop", "demo-jobs-v1")
    docker_on(fleet, "h1", "start", "demo-web-v2")  # the old v2 container, beside the current v1
    state = state_of()
    releases = state.releases.df
    assert values(releases.version) == ["v1", "v2", None]
    assert releases.status.tolist() == ["version skew; stale running: v2", "version skew", "no running container"]
    assert values(releases.stale) == ["v2", None, None] and releases.running.tolist() == [2, 1, 0]
    assert state.servers.df.status.tolist() == ["ok", "ok", "no app running"]
    containers = state.containers.df
    jobs = containers[containers.name == "demo-jobs-v1"]
    assert jobs.state.tolist() == ["exited"] and jobs.finished_at.notna().all() and not jobs.current.any()
    stale = containers[containers.status == "running, stale"]
    assert list(zip(stale.host, stale.name, strict=True)) == [(h1, "demo-web-v2")]
    found = [(f.severity, f.kind, f.host, f.role) for f in state.finding_list]
    assert found == [
        ("error", "no_running_container", h3, "jobs"),
        ("warning", "version_skew", None, "web"),
        ("warning", "stale_container", h1, "web"),
    ]
    assert not state.ok
    assert state.findings.df.status.tolist() == ["ERROR", "WARNING", "WARNING"]
    assert list(state.releases.levels) == ["warn", "warn", "bad"]

    # -- a held lock, fresh and then old ---------------------------------------------------------
    kamal(project, "lock", "acquire", "-m", "db migration")
    state = state_of()
    lock = state.lock.df
    assert lock.host.tolist() == [h1] and lock.primary.tolist() == [True]
    assert lock.locked_by.tolist() == ["Test Operator"] and lock.message.tolist() == ["db migration"]
    assert lock.automatic.tolist() == [False] and lock.status.tolist() == ["held"]
    assert lock.version.notna().all()  # Kamal records the git commit without --version
    assert pd.Timedelta(0) <= lock.age[0] < pd.Timedelta(minutes=5)
    assert state.servers.df.lock_held.tolist() == [True, False, False]
    assert [(f.kind, f.host) for f in state.finding_list if f.severity == "info"] == [("lock_held", h1)]
    later = datetime.datetime.now(datetime.UTC) + datetime.timedelta(hours=2)
    state = state_of(now=lambda: later)
    assert [(f.severity, f.kind, f.host) for f in state.finding_list if "lock" in f.kind] == [
        ("warning", "stale_lock", h1)
    ]
    assert "older than 1h 00m" in state.lock.df.status[0] and list(state.lock.levels) == ["bad"]
    assert "lock: held on" in str(state)

    # -- an unreachable host ----------------------------------------------------------------------
    fleet_control.stop_sshd("h3")
    try:
        state = state_of()
    finally:
        fleet_control.start_sshd("h3")
    servers = state.servers.df
    assert servers.reachable.tolist() == [True, True, False]
    assert servers.status.tolist()[2] == "unreachable" and servers.error.notna().tolist()[2]
    assert state.releases.df.status.tolist()[2] == "unreachable"
    assert [(f.kind, f.host) for f in state.finding_list if f.severity == "error"] == [("unreachable", h3)]
    assert h3 not in set(state.containers.df.host)


def test_selection_and_the_catalog_operation(
    project: Path, fleet: FleetInfo, state_of: Callable[..., FleetState]
) -> None:
    h1, h2, h3 = fleet.host_ips
    kamal(project, "setup", "-P", "--version", "v1")
    only_jobs = state_of(roles=("jobs",))
    assert only_jobs.servers.df.host.tolist() == [h3]
    assert only_jobs.releases.df.role.astype(str).tolist() == ["jobs"]
    assert set(only_jobs.containers.df.host) == {h3}
    one_host = state_of(hosts=(h2,))
    assert one_host.servers.df.primary.tolist() == [True]  # -h moves the primary host, as in Kamal
    assert one_host.releases.df.version.tolist() == ["v1"]

    session = Session(root=project)
    try:
        ctx = session.context(GlobalOptions())
        plan = OPERATION.plan(ctx, {})
        assert plan.hosts == (h1, h2, h3) and len(plan.steps) == 3  # one step (one round trip) per host
        assert not OPERATION.mutating and OPERATION.path == ("state",)
        result = OPERATION.run(ctx, {})
        assert isinstance(result, StateResult) and result.ok
        assert result.state.releases.df.version.tolist() == ["v1"] * 3
        assert [len(r.commands) for r in result.hosts.values()] == [5, 5, 5]  # five sections, one exec
        bundle = result._repr_mimebundle_()
        assert bundle["text/plain"].startswith("Fleet state of demo: 3 hosts, 3 reachable")
        assert "<table" in bundle["text/html"]
    finally:
        session.close()


def test_a_destination_has_its_own_containers_lock_and_audit(
    project: Path, fleet: FleetInfo, state_of: Callable[..., FleetState]
) -> None:
    h1, h2, h3 = fleet.host_ips
    (project / "config" / "deploy.staging.yml").write_text("env:\n  clear:\n    STAGE: staging\n")
    secrets = project / ".kamal" / "secrets"
    (project / ".kamal" / "secrets.staging").write_text(secrets.read_text())  # a destination's own secrets
    kamal(project, "setup", "-P", "-d", "staging", "--version", "v2")
    kamal(project, "lock", "acquire", "-d", "staging", "-m", "staging freeze")
    staging = state_of(destination="staging")
    releases = staging.releases.df
    assert releases.version.tolist() == ["v2"] * 3
    assert releases.container.tolist() == ["demo-web-staging-v2", "demo-web-staging-v2", "demo-jobs-staging-v2"]
    containers = staging.containers.df
    apps = containers[containers.kind == "app"]
    assert (apps.destination == "staging").all() and (apps.version == "v2").all()
    images = staging.images.df
    assert set(images[images.latest.astype(bool)].tag) == {"latest-staging", "v2"}
    assert staging.lock.df.message.tolist() == ["staging freeze"]
    audit = staging.audit.df
    assert (audit.destination == "staging").all()
    boots = audit[audit.message == "Booted app version v2"]
    assert sorted(zip(boots.host, boots.role.astype(str), strict=True)) == [(h1, "web"), (h2, "web"), (h3, "jobs")]
    assert [f.kind for f in staging.finding_list] == ["lock_held"]

    # without the destination: none of staging's containers, lock or audit lines are ours
    plain = state_of()
    assert len(plain.containers.df[plain.containers.df.kind == "app"]) == 0
    assert len(plain.lock) == 0 and len(plain.audit) == 0
    assert plain.releases.df.status.tolist() == ["no running container"] * 3
    assert [f.kind for f in plain.finding_list] == ["no_running_container"] * 3
