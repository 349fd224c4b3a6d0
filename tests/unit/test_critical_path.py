"""Where a deploy's time goes (kamal_nb.testing.critical_path, .host_work), on synthetic timelines
and docker events: the critical path, its split into host work and kamal_nb's own, each command's
phase and role, and the hosts' own work as their engines' events measure it."""

from __future__ import annotations

import pytest

from kamal_nb.fleet import CommandResult
from kamal_nb.testing.critical_path import (
    Step,
    classify,
    covered,
    critical_path,
    lanes,
    split,
    steps_of,
    with_host_work,
)
from kamal_nb.testing.host_work import Event, busy, by_kind, intervals, parse_event

ROLES = ("web", "jobs")
PULL = "docker pull 10.0.0.1:5000/demo:v1"
RUN_WEB = 'docker run --detach --name demo-web-v1 --label role="web" 10.0.0.1:5000/demo:v1'
RUN_JOBS = 'docker run --detach --name demo-jobs-v1 --label role="jobs" 10.0.0.1:5000/demo:v1 /bin/sh /jobs.sh'
DEPLOY = 'docker exec kamal-proxy kamal-proxy deploy demo-web --target="0f823d63bdf9:3000" --deploy-timeout="10s"'
STOP_WEB = "docker container ls --all --filter 'name=^demo-web-v2$' --quiet | xargs docker stop"
STOP_JOBS = "docker container ls --all --filter 'name=^demo-jobs-v2$' --quiet | xargs docker stop -t 1"
TAG = "docker tag 10.0.0.1:5000/demo:v1 10.0.0.1:5000/demo:latest"


@pytest.mark.parametrize(
    ("command", "phase", "role"),
    [
        ('docker login 10.0.0.1:5000 -u "testuser" -p [REDACTED]', "pull", ""),
        ("docker info --format '{{index .RegistryConfig.Mirrors 0}}'", "pull", ""),
        ("mkdir -p .kamal", "lock", ""),
        ('mkdir -p .kamal && echo "[t] [op] Pulled image with version v1" >> .kamal/demo-audit.log', "pull", ""),
        ("docker image rm --force 10.0.0.1:5000/demo:v1", "pull", ""),
        (PULL, "pull", ""),
        ("docker inspect -f '{{ .Config.Labels.service }}' 10.0.0.1:5000/demo:v1 | grep -x demo", "pull", ""),
        ('mkdir .kamal/lock-demo && echo "TG9ja2Vk" > .kamal/lock-demo/details', "lock", ""),
        ("rm -r .kamal/lock-demo", "lock", ""),
        ('docker ps --filter label=service=demo --filter label=role=web --format "{{.Names}}"', "reads", "web"),
        ("docker exec kamal-proxy kamal-proxy list", "reads", ""),
        ("sh -c 'docker ps --latest --filter label=role=jobs' | head -1", "reads", "jobs"),
        ("docker container ls --all --filter 'name=^demo-web-v1$' --quiet", "reads", "web"),
        ("mkdir -p .kamal/apps/demo/env/roles", "reads", ""),
        ("upload .kamal/apps/demo/env/roles/jobs.env (37 bytes, mode 0600)", "env upload", "jobs"),
        ('mkdir -p .kamal && echo "[t] [op] [web] Renaming container v1 to v1_replaced_5c" >> a.log', "rename", "web"),
        ("docker rename demo-web-v1 demo-web-v1_replaced_5c26c1fa54937904", "rename", "web"),
        (
            'mkdir -p .kamal && echo "[t] [op] [jobs] Booted app version v1" >> .kamal/demo-audit.log',
            "docker run",
            "jobs",
        ),
        (RUN_WEB, "docker run", "web"),
        (RUN_JOBS, "docker run", "jobs"),
        (DEPLOY, "proxy deploy", "web"),
        (
            "docker container ls --all --filter 'name=^demo-jobs-v1$' --quiet | xargs docker inspect "
            "--format '{{if .State.Health}}{{.State.Health.Status}}{{else}}{{.State.Status}}{{end}}'",
            "status",
            "jobs",
        ),
        (STOP_WEB, "stop old", "web"),
        (STOP_JOBS, "stop old", "jobs"),
        (
            'mkdir -p .kamal && echo "[t] [op] Tagging 10.0.0.1:5000/demo:v1 as the latest image" >> a.log',
            "tag/prune",
            "",
        ),
        (TAG, "tag/prune", ""),
        ("echo something else", "other", ""),
    ],
)
def test_each_command_has_its_phase_and_role(command: str, phase: str, role: str) -> None:
    assert classify(command, ROLES) == (phase, role)


# Two hosts: a (web, the primary role) and b (jobs, which waits for a's first healthy container).
# The pull ends on both before the boot starts; b's pull is the slower one.
STEPS = [
    Step("a", PULL, 10.0, 10.5),
    Step("b", PULL, 10.0, 11.0),
    Step("a", RUN_WEB, 11.05, 11.4),  # after b's pull: the phase's end
    Step("a", DEPLOY, 11.4, 12.4),
    Step("b", RUN_JOBS, 12.45, 12.7),  # after a's proxy deploy: the barrier
    Step("a", STOP_WEB, 12.404, 12.9),  # after its own deploy (a's step, not b's, ended last before it)
    Step("b", STOP_JOBS, 12.71, 13.0),
    Step("a", TAG, 13.02, 13.1),  # after every host's boot
    Step("b", TAG, 13.02, 13.2),
]


def test_the_critical_path_follows_what_each_step_waited_for() -> None:
    path = critical_path(STEPS, began=9.8, ended=13.5, roles=ROLES)
    assert [(p.host, p.phase) for p in path] == [
        ("", "start"),
        ("b", "pull"),
        ("a", "docker run"),
        ("a", "proxy deploy"),
        ("b", "docker run"),
        ("b", "stop old"),
        ("b", "tag/prune"),
        ("", "end"),
    ]
    assert [round(p.gap, 3) for p in path] == [0, 0, 0.05, 0, 0.05, 0.01, 0.02, 0]
    # the lead-in, the steps, the gaps between them and the tail make up the whole wall time
    assert sum(p.seconds + p.gap for p in path) == pytest.approx(13.5 - 9.8)


def test_a_step_that_follows_its_own_host_is_not_taken_to_wait_for_another() -> None:
    steps = [Step("a", PULL, 0.0, 1.0), Step("b", PULL, 0.0, 1.005), Step("a", RUN_WEB, 1.006, 2.0)]
    assert [p.host for p in critical_path(steps, 0.0, 2.0, ROLES)[1:-1]] == ["a", "a"]


def test_a_run_without_steps_is_all_lead_in() -> None:
    assert [(p.phase, p.seconds) for p in critical_path([], 1.0, 3.0)] == [("start", 2.0)]


def test_the_path_splits_into_host_work_and_kamal_nbs_own() -> None:
    work = {"a": [(11.1, 11.2), (11.45, 12.35)], "b": [(10.2, 10.9), (12.5, 12.6), (12.75, 12.95)]}
    phases = {p.phase: p for p in split(with_host_work(critical_path(STEPS, 9.8, 13.5, ROLES), work))}
    assert list(phases) == ["start", "pull", "docker run", "proxy deploy", "stop old", "tag/prune", "end"]
    assert phases["pull"].host_work == pytest.approx(0.7) and phases["pull"].hosts == ("b",)
    run = phases["docker run"]
    assert (run.steps, run.hosts) == (2, ("a", "b"))
    assert run.seconds == pytest.approx(0.35 + 0.05 + 0.25 + 0.05)  # the steps and the gaps before them
    assert run.host_work == pytest.approx(0.1 + 0.1)
    assert phases["proxy deploy"].own == pytest.approx(0.1)
    assert phases["stop old"].host_work == pytest.approx(0.2) and phases["stop old"].own == pytest.approx(0.1)
    assert phases["end"].seconds == pytest.approx(0.3) and phases["end"].host_work == 0


def test_lanes_sum_each_host_and_roles_phases() -> None:
    by_lane = lanes(STEPS, ROLES)
    assert by_lane["a -"] == pytest.approx({"pull": 0.5, "tag/prune": 0.08})
    assert by_lane["a web"] == pytest.approx({"docker run": 0.35, "proxy deploy": 1.0, "stop old": 0.496})
    assert by_lane["b jobs"] == pytest.approx({"docker run": 0.25, "stop old": 0.29})


def test_steps_come_from_the_results_commands() -> None:
    commands = [CommandResult("a", PULL, 0, "", "", 0.5, 100.0), CommandResult("a", "never sent", 0, "", "", 0.0)]
    assert steps_of({"a": commands}) == [Step("a", PULL, 100.0, 100.5)]


def test_covered_counts_overlaps_once_and_only_inside_the_span() -> None:
    assert covered(0.0, 10.0, [(1, 3), (2, 4), (9, 12), (-5, -1)]) == pytest.approx(4.0)
    assert covered(2.0, 3.0, [(0, 10)]) == pytest.approx(1.0)


def event(time: float, type_: str, action: str, actor: str, **attributes: str) -> Event:
    return Event(time, type_, action, actor, attributes)


def test_the_hosts_own_work_is_read_from_its_engines_events() -> None:
    events = [
        event(1.0, "image", "untag", "sha256:1", name="sha256:1"),
        event(1.3, "image", "pull", "10.0.0.1:5000/demo:v1", name="10.0.0.1:5000/demo"),
        event(2.0, "container", "rename", "c0", name="demo-web-v1_replaced_5c", oldName="/demo-web-v1"),
        event(2.2, "container", "create", "c1", name="demo-web-v1"),
        event(2.25, "network", "connect", "n1"),
        event(2.4, "container", "start", "c1", name="demo-web-v1"),
        event(2.5, "container", "exec_create: kamal-proxy list", "p", name="kamal-proxy", execID="x0"),
        event(2.5, "container", "exec_start: kamal-proxy list", "p", name="kamal-proxy", execID="x0"),
        event(2.55, "container", "exec_die", "p", name="kamal-proxy", execID="x0", exitCode="0"),
        event(2.6, "container", "exec_start: kamal-proxy deploy demo-web --target=c1:3000", "p", execID="x1"),
        event(3.6, "container", "exec_die", "p", name="kamal-proxy", execID="x1", exitCode="0"),
        event(3.7, "container", "kill", "c2", name="demo-web-v2", signal="15"),
        event(3.9, "container", "die", "c2", name="demo-web-v2", exitCode="0"),
        event(3.95, "container", "stop", "c2", name="demo-web-v2"),
        event(4.0, "image", "tag", "sha256:1", name="10.0.0.1:5000/demo:latest"),
    ]
    found = intervals(events)
    assert [(i.kind, round(i.start, 2), round(i.end, 2)) for i in found] == [
        ("pull", 1.0, 1.3),
        ("docker run", 2.2, 2.4),
        ("proxy deploy", 2.6, 3.6),
        ("stop old", 3.7, 3.95),  # to `stop`: the engine's docker stop ends after the network's teardown
    ]
    assert busy(found) == pytest.approx(0.3 + 0.2 + 1.0 + 0.25)
    assert by_kind(found) == pytest.approx({"pull": 0.3, "docker run": 0.2, "proxy deploy": 1.0, "stop old": 0.25})


def test_a_container_stopped_without_a_stop_event_counts_to_its_exit() -> None:
    events = [
        event(1.0, "container", "kill", "c2", name="demo-web-v2", signal="15"),
        event(1.2, "container", "die", "c2", name="demo-web-v2"),
        event(1.3, "container", "kill", "c3", name="demo-jobs-v2", signal="SIGTERM"),
        event(1.4, "container", "die", "c3", name="demo-jobs-v2"),
        event(1.6, "container", "stop", "c3", name="demo-jobs-v2"),
    ]
    assert [(i.what, round(i.start, 2), round(i.end, 2)) for i in intervals(events)] == [
        ("demo-web-v2", 1.0, 1.2),
        ("demo-jobs-v2", 1.3, 1.6),
    ]


def test_a_pull_without_a_removal_before_it_and_a_container_killed_by_another_signal_count_nothing() -> None:
    events = [
        event(1.3, "image", "pull", "r/demo:v1"),
        event(2.0, "container", "kill", "c2", signal="9"),
        event(2.1, "container", "die", "c2"),
        event(2.5, "container", "start", "c3"),  # started again, not created here
    ]
    assert intervals(events) == [] and busy([]) == 0.0


def test_an_event_parses_as_the_engine_sends_it() -> None:
    raw = {
        "status": "exec_die",
        "id": "abc",
        "Type": "container",
        "Action": "exec_die",
        "Actor": {"ID": "abc", "Attributes": {"execID": "x1", "exitCode": "0", "name": "kamal-proxy"}},
        "scope": "local",
        "time": 1700000000,
        "timeNano": 1700000000123456789,
    }
    parsed = parse_event(raw)
    assert parsed.time == pytest.approx(1700000000.123456789)
    assert (parsed.type, parsed.action, parsed.actor, parsed.name) == ("container", "exec_die", "abc", "kamal-proxy")
    assert parsed.attributes["execID"] == "x1"
