"""gather() and the catalog's `state` operation over a runner that replays recorded probe output:
one Batch step per selected host, sections mapped back, the FleetState and its display."""

from __future__ import annotations

import datetime
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest
import yaml

from kamal_nb.fleet import Batch, CommandResult, GroupResult, HostResult, Step
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Context, Session
from kamal_nb.state import FleetState, ProbeOutput, gather
from kamal_nb.state.operation import OPERATION, StateResult
from kamal_nb.state.probe import SECTIONS

DATA = Path(__file__).parent / "data"
H1, H2, H3 = "10.211.0.11", "10.211.0.12", "10.211.0.13"
NOW = datetime.datetime(2026, 11, 26, 21, 0, tzinfo=datetime.UTC)


class ReplayRunner:
    """Answers each host's single Batch with what the real fleet printed for it."""

    def __init__(self, outputs: Mapping[str, ProbeOutput]) -> None:
        self.outputs = outputs
        self.plans: list[Mapping[str, Sequence[Step]]] = []

    def run(
        self, plan: Mapping[str, Sequence[Step]], *, stop_on_failure: bool = True, tolerated: bool = False
    ) -> GroupResult:
        self.plans.append(plan)
        results = {}
        for host, steps in plan.items():
            (batch,) = steps
            assert isinstance(batch, Batch)
            out = self.outputs[host]
            if out.error is not None:
                results[host] = HostResult(host, (), out.error)
                continue
            commands = tuple(
                CommandResult(host, str(cmd), s.exit_code, s.stdout, s.stderr, 0.01)
                for cmd, s in zip(batch.commands, (out.sections[n] for n in SECTIONS), strict=True)
            )
            results[host] = HostResult(host, commands, None, 0.05)
        return GroupResult(results)


def recorded(name: str) -> dict[str, ProbeOutput]:
    items = json.loads((DATA / f"state_probe_{name}.json").read_text())
    return {item["host"]: ProbeOutput.from_json(item) for item in items}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    config = {
        "service": "demo",
        "image": "demo",
        "servers": {"web": [H1, H2], "jobs": {"hosts": [H3], "cmd": "/bin/sh /jobs.sh"}},
        "registry": {"server": "10.211.0.1:5000", "username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]},
        "builder": {"arch": "amd64"},
        "proxy": {"app_port": 3000},
    }
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(config))
    (tmp_path / ".kamal").mkdir()
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=registry-pw-1234\n")
    return tmp_path


def context(project: Path, runner: ReplayRunner, **options: object) -> Context:
    session = Session(root=project, env={"PATH": "/usr/bin:/bin"}, clock=lambda: NOW)
    ctx = session.context(GlobalOptions(**options))  # type: ignore[arg-type]
    ctx.__dict__["runner"] = runner  # the cached_property, replaced: no SSH here
    return ctx


def test_gather_sends_one_batch_per_host_and_reads_it_back(project: Path) -> None:
    runner = ReplayRunner(recorded("skew_stopped_stale"))
    state = gather(context(project, runner))
    (plan,) = runner.plans
    assert list(plan) == [H1, H2, H3] and all(len(steps) == 1 for steps in plan.values())
    assert state.gathered_at == NOW and state.deployment.primary_host == H1
    assert state.releases.df.version.tolist()[:2] == ["v1", "v2"]
    assert [f.kind for f in state.finding_list] == ["no_running_container", "version_skew", "stale_container"]


def test_gather_follows_the_host_selection(project: Path) -> None:
    runner = ReplayRunner(recorded("deployed_locked"))
    state = gather(context(project, runner, roles=("jobs",)))
    assert list(runner.plans[0]) == [H3]
    assert state.servers.df.host.tolist() == [H3] and state.deployment.role_names == ("jobs",)
    assert len(state.lock) == 0  # the lock is on H1, which was not asked
    state = gather(context(project, runner, hosts=(H2,)))
    assert state.deployment.primary_host == H2 and state.servers.df.primary.tolist() == [True]


def test_an_unreachable_host_in_gather(project: Path) -> None:
    outputs = recorded("deployed_locked")
    outputs[H3] = ProbeOutput(H3, {}, f"{H3}: connection timed out")
    state = gather(context(project, ReplayRunner(outputs)), now=lambda: NOW + datetime.timedelta(hours=3))
    assert [(f.severity, f.kind, f.host) for f in state.finding_list] == [
        ("error", "unreachable", H3),
        ("warning", "stale_lock", H1),
    ]


def test_the_state_operation(project: Path) -> None:
    # state sits above ops: importing it registers the operation, ops never name it
    assert not any(module.startswith("kamal_nb.state") for module in catalog.OPERATION_MODULES)
    assert catalog.lookup(("state",)) is OPERATION
    assert OPERATION.path == ("state",) and not OPERATION.mutating
    runner = ReplayRunner(recorded("deployed_locked"))
    ctx = context(project, runner)
    plan = OPERATION.plan(ctx, {})
    assert plan.hosts == (H1, H2, H3) and len(plan.steps) == 3
    assert "docker container inspect" in plan.steps[0].text and plan.steps[0].note
    result = catalog.perform(ctx, ("state",))  # read-only: runs without --yes
    assert isinstance(result, StateResult) and result.ok
    assert isinstance(result.state, FleetState) and result.state.lock.df.message.tolist() == ["investigating"]
    assert str(result) == str(result.state)
    bundle = result._repr_mimebundle_()
    assert bundle["text/plain"].startswith("Fleet state of demo: 3 hosts, 3 reachable")
    assert "<table" in bundle["text/html"]
