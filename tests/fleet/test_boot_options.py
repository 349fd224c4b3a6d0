"""`boot: limit / wait / parallel_roles` on the real fleet, beside the real Kamal 2.11 on the same hosts
and config: when each container was created, stopped or started (its engine's timestamps), which
hosts each boot group's hooks were given, and the operation's own timeline.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=7 .venv/bin/pytest tests/fleet/test_boot_options.py -q`.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.engine.result import OperationResult
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, write_project
from tests.fleet.helpers import kamal_ok, perform, run

pytestmark = pytest.mark.fleet

WAIT = 2  # boot.wait
STOP = 2  # drain_timeout: how long `docker stop -t` waits for a role container that ignores SIGTERM


@contextmanager
def session_on(project: Path) -> Iterator[Session]:
    session = Session(root=project)
    try:
        yield session
    finally:
        session.close()


def _seconds(stamp: str) -> float:
    """A Docker engine timestamp (RFC 3339, nanoseconds) as seconds since the epoch."""
    import pandas as pd

    return float(pd.Timestamp(stamp).value) / 1e9


def _containers(fleet: FleetInfo, version: str) -> dict[tuple[str, str], dict[str, Any]]:
    """The demo app's containers of `version` (the fresh ones, not `_replaced_`), by (host, role):
    their engine's attributes."""
    import docker

    found: dict[tuple[str, str], dict[str, Any]] = {}
    for host in fleet.hosts:
        client = docker.DockerClient(base_url=host.docker_socket, timeout=30)
        try:
            for container in client.containers.list(all=True):
                if container.labels.get("service") == "demo" and str(container.name).endswith(f"-{version}"):
                    found[(host.name, container.labels["role"])] = container.attrs
        finally:
            client.close()
    return found


def created(fleet: FleetInfo, version: str) -> dict[tuple[str, str], float]:
    return {key: _seconds(attrs["Created"]) for key, attrs in _containers(fleet, version).items()}


def state_time(fleet: FleetInfo, version: str, field: str) -> dict[tuple[str, str], float]:
    """`StartedAt` or `FinishedAt` of each container of `version`."""
    return {key: _seconds(attrs["State"][field]) for key, attrs in _containers(fleet, version).items()}


def command_span(result: OperationResult, host: str, text: str) -> tuple[float, float]:
    """When the one command of `host` containing `text` started and ended (the operation's timeline)."""
    (found,) = [c for c in result.hosts[host].commands if text in c.command]
    return found.started_at, found.started_at + found.duration


# -- boot.limit and boot.wait ------------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    hosts: tuple[str, ...]
    began: float  # pre-app-boot ran
    ended: float  # post-app-boot ran


def hook_groups(log: Path, command: str) -> list[Group]:
    """The boot groups, as the pre-app-boot and post-app-boot hooks saw them (KAMAL_HOSTS)."""
    began: list[tuple[float, str]] = []
    groups: list[Group] = []
    for line in log.read_text().splitlines():
        stamp, hook, hosts, kamal_command = line.split(" ")
        if kamal_command != command:
            continue
        if hook == "pre-app-boot":
            began.append((float(stamp), hosts))
        else:
            start, started_hosts = began.pop(0)
            assert started_hosts == hosts, f"post-app-boot for {hosts} after pre-app-boot for {started_hosts}"
            groups.append(Group(tuple(hosts.split(",")), start, float(stamp)))
    assert not began, f"pre-app-boot without its post-app-boot: {began}"
    return groups


def _with_hooks(project: Path) -> Path:
    hooks = project / ".kamal" / "hooks"
    hooks.mkdir(parents=True, exist_ok=True)
    log = project / "hooks.log"
    for name in ("pre-app-boot", "post-app-boot"):
        hook = hooks / name
        hook.write_text(f'#!/bin/sh\necho "$(date +%s.%N) {name} $KAMAL_HOSTS $KAMAL_COMMAND" >> "{log}"\n')
        hook.chmod(0o755)
    return log


def check_groups(
    fleet: FleetInfo, groups: list[Group], expected: list[list[int]], times: dict[tuple[str, str], float]
) -> None:
    """The groups are the expected hosts, in order; each group's containers were created while its
    hooks say it booted; the next group began `WAIT` seconds or more after the last one ended."""
    ips = [h.ip for h in fleet.hosts]
    assert [list(g.hosts) for g in groups] == [[ips[i] for i in group] for group in expected]
    for group in groups:
        names = {h.name for h in fleet.hosts if h.ip in group.hosts}
        booted = [t for (host, _), t in times.items() if host in names]
        assert booted and all(group.began < t < group.ended for t in booted), (group, booted)
    for before, after in itertools.pairwise(groups):
        assert after.began - before.ended >= WAIT - 0.05, (before, after)


@pytest.fixture
def limited(
    request: pytest.FixtureRequest, fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> Iterator[tuple[Path, Path]]:
    """The demo app (web on h1, h2; jobs on h3) with `boot: {limit: <param>, wait: WAIT}` and hooks that
    log each boot group, set up by the real Kamal at v1."""
    config = deploy_config(fleet, boot={"limit": request.param, "wait": WAIT})
    project = write_project(tmp_path / "project", fleet, config)
    log = _with_hooks(project)
    fleet_control.reset_hosts()
    kamal_ok(project, "setup", "-P", "--version", "v1")
    yield project, log
    fleet_control.reset_hosts()


@pytest.mark.parametrize(
    ("limited", "expected"),
    # 67% of 3 hosts: 2 at a time, so a group of several hosts and a wait; a plain number of hosts
    # (`limit: 1`) groups the same way (see test_the_plan_names_the_boot_groups and the unit plans)
    [("67%", [[0, 1], [2]])],
    indirect=["limited"],
    ids=["limit-67pct"],
)
def test_hosts_boot_in_groups_of_the_limit_with_the_wait_between_them(
    limited: tuple[Path, Path], expected: list[list[int]], fleet: FleetInfo
) -> None:
    project, log = limited

    log.write_text("")
    kamal_ok(project, "redeploy", "-P", "--version", "v2")
    check_groups(fleet, hook_groups(log, "redeploy"), expected, created(fleet, "v2"))

    # kamal_nb, each operation that boots the app; the hooks get KAMAL_COMMAND (app boot: "app")
    operations: list[tuple[tuple[str, ...], dict[str, object], str]] = [
        (("redeploy",), {"skip_push": True}, "v1"),
        (("rollback",), {"version": "v2"}, "v2"),
        (("deploy",), {"skip_push": True}, "v1"),
        (("app", "boot"), {}, "v2"),
    ]
    with session_on(project) as session:
        for path, args, version in operations:
            log.write_text("")
            options = {} if path == ("rollback",) else {"version": version}
            result = run(session, path, args, **options)
            assert result.ok, str(result)
            groups = hook_groups(log, path[0])
            check_groups(fleet, groups, expected, created(fleet, version))
            # the operation's own timeline agrees with the engines: each `docker run` began in its group
            for group in groups:
                for ip in group.hosts:
                    role = "jobs" if ip == fleet.hosts[2].ip else "web"
                    start, _ = command_span(result, ip, f"--name demo-{role}-{version} ")
                    assert group.began < start < group.ended, path
            # as Kamal, it sleeps after the last group too, before tagging the image
            for ip in fleet.host_ips:
                assert command_span(result, ip, "docker tag ")[0] >= groups[-1].ended + WAIT - 0.05, path


def test_the_plan_names_the_boot_groups(fleet: FleetInfo, tmp_path: Path) -> None:
    config = deploy_config(fleet, boot={"limit": "34%", "wait": WAIT})
    project = write_project(tmp_path / "project", fleet, config)
    with session_on(project) as session:
        plan = perform(session, ("deploy",), {"skip_push": True}, yes=False, version="v2")
    h1, h2, h3 = fleet.host_ips
    assert f"boot groups of 1 hosts: {h1} | {h2} | {h3}" in plan.notes
    assert f"sleep {WAIT}s after each boot group" in plan.notes


# -- boot.parallel_roles -------------------------------------------------------------------------------


def three_roles_config(fleet: FleetInfo, parallel: bool) -> dict[str, object]:
    """web on h1 and h2; jobs and workers on h2 too, as `sleep` (which ignores SIGTERM as PID 1, so each
    stop takes `drain_timeout`)."""
    h1, h2, _ = fleet.host_ips
    config = deploy_config(fleet, drain_timeout=STOP, boot={"parallel_roles": parallel})
    config["servers"] = {
        "web": [h1, h2],
        "jobs": {"hosts": [h2], "cmd": "sleep 3600"},
        "workers": {"hosts": [h2], "cmd": "sleep 3600"},
    }
    return config


@pytest.fixture
def three_roles(
    request: pytest.FixtureRequest, fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> Iterator[Path]:
    """`three_roles_config` with `boot.parallel_roles` as the param, set up by the real Kamal at v1."""
    project = write_project(tmp_path / "project", fleet, three_roles_config(fleet, request.param))
    fleet_control.reset_hosts()
    kamal_ok(project, "setup", "-P", "--version", "v1")
    yield project
    fleet_control.reset_hosts()


def check_roles(times: dict[tuple[str, str], float], parallel: bool, what: str) -> None:
    """On h2, jobs and workers (after web) at once with parallel_roles, else one after the other,
    workers only once jobs' old container had taken its STOP seconds to stop."""
    jobs, workers = times[("h2", "jobs")], times[("h2", "workers")]
    if parallel:
        assert abs(workers - jobs) < 1.0, f"{what}: jobs at {jobs}, workers at {workers}: not at the same time"
    else:
        assert workers - jobs >= STOP - 0.2, f"{what}: workers {workers - jobs:.2f}s after jobs, not one by one"


@pytest.mark.parametrize("three_roles", [True, False], indirect=True, ids=["parallel", "sequential"])
def test_parallel_roles_boot_start_and_stop_the_roles_of_a_host_at_once(
    three_roles: Path, request: pytest.FixtureRequest, fleet: FleetInfo
) -> None:
    parallel = request.node.callspec.params["three_roles"]
    project, h2 = three_roles, fleet.hosts[1].ip

    kamal_ok(project, "redeploy", "-P", "--version", "v2")
    kamal = created(fleet, "v2")
    check_roles(kamal, parallel, "kamal redeploy")
    # the primary role first: the other roles wait for its first healthy container (Kamal's barrier)
    assert min(kamal[("h2", "jobs")], kamal[("h2", "workers")]) > min(kamal[("h1", "web")], kamal[("h2", "web")])

    with session_on(project) as session:
        result = run(session, ("redeploy",), {"skip_push": True}, version="v1")
        assert result.ok, str(result)
        check_roles(created(fleet, "v1"), parallel, "kamal_nb redeploy")
        first_healthy = min(command_span(result, h, "kamal-proxy deploy demo-web")[1] for h in fleet.host_ips[:2])
        for role in ("jobs", "workers"):
            assert command_span(result, h2, f"--name demo-{role}-v1 ")[0] >= first_healthy - 0.05
        if not parallel:  # one after the other: jobs after web's whole boot on its host
            web_done = command_span(result, h2, "--filter 'name=^demo-web-v2$' --quiet | xargs docker stop")[1]
            assert command_span(result, h2, "--name demo-jobs-v1 ")[0] >= web_done

        kamal_ok(project, "app", "stop", "--version", "v1")
        check_roles(state_time(fleet, "v1", "FinishedAt"), parallel, "kamal app stop")
        kamal_ok(project, "app", "start", "--version", "v1")

        stopped = run(session, ("app", "stop"), version="v1")
        assert stopped.ok, str(stopped)
        check_roles(state_time(fleet, "v1", "FinishedAt"), parallel, "kamal_nb app stop")

        started = run(session, ("app", "start"), version="v1")
        assert started.ok, str(started)
        web_deployed = command_span(started, h2, "kamal-proxy deploy demo-web")[1]
        jobs_started = state_time(fleet, "v1", "StartedAt")[("h2", "jobs")]
        if parallel:
            assert jobs_started < web_deployed, "app start: jobs waited for web on h2"
        else:
            assert jobs_started > web_deployed, "app start: jobs started before web on h2 was deployed"

        rolled = run(session, ("rollback",), {"version": "v2"})
        assert rolled.ok, str(rolled)
        check_roles(created(fleet, "v2"), parallel, "kamal_nb rollback")


@pytest.mark.parametrize("parallel", [True, False])
def test_the_plans_say_whether_the_roles_run_at_once(fleet: FleetInfo, tmp_path: Path, parallel: bool) -> None:
    project = write_project(tmp_path / "project", fleet, three_roles_config(fleet, parallel))
    note = "the roles of a host run at the same time (boot.parallel_roles)"
    with session_on(project) as session:
        for path in (("app", "stop"), ("app", "start")):
            plan = perform(session, path, yes=False, version="v1")
            assert (note in plan.notes) is parallel
        plan = perform(session, ("deploy",), {"skip_push": True}, yes=False, version="v2")
        assert ("roles boot in parallel (boot.parallel_roles)" in plan.notes) is parallel
