"""Result timelines and the local run log, without hosts."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from kamal_nb.engine.plan import Plan, PlannedStep
from kamal_nb.engine.record import OperationInterrupted
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import CommandResult, GroupResult, HostResult
from kamal_nb.ops import catalog
from kamal_nb.ops.runlog import record_run
from kamal_nb.ops.session import Context, Session
from kamal_nb.redaction import Secret


def result() -> OperationResult:
    ok = HostResult(
        "web-1",
        (
            CommandResult("web-1", "docker pull app:v2", 0, "", "", 1.5, 1_000.0),
            CommandResult("web-1", "docker run app:v2", 0, "", "", 0.5, 1_001.5),
        ),
        None,
        2.0,
    )
    failed = HostResult(
        "web-2", (CommandResult("web-2", "docker pull app:v2", 1, "", "denied\n", 0.25, 1_000.1),), None, 0.3
    )
    down = HostResult("web-3", (), "root@web-3: connection refused", 0.1)
    return OperationResult("deploy", GroupResult({"web-1": ok, "web-2": failed, "web-3": down}), 2.1)


def test_timeline_has_a_row_per_command_with_stable_dtypes() -> None:
    timeline = result().timeline
    assert list(timeline["host"]) == ["web-1", "web-1", "web-2"]
    assert list(timeline["status"]) == ["ok", "ok", "FAILED"]
    assert str(timeline["start"].dtype) == "datetime64[ns, UTC]"
    assert timeline["start"].iloc[1] - timeline["start"].iloc[0] == pd.Timedelta(seconds=1.5)
    assert dict(timeline.dtypes.astype(str)) | {"start": "-"} == {
        "host": "string",
        "step": "int64",
        "command": "string",
        "start": "-",
        "duration_s": "float64",
        "exit_code": "int64",
        "status": "string",
    }


def test_timeline_by_host_is_one_row_a_host() -> None:
    frame = result().timeline_by_host
    assert list(frame["host"]) == ["web-1", "web-2", "web-3"]
    assert list(frame["steps"]) == [2, 1, 0]
    assert list(frame["seconds"])[:2] == [2.0, 0.25]
    assert frame["slowest"].iloc[0] == "docker pull app:v2 (1.50s)"
    assert list(frame["failed"]) == ["", "docker pull app:v2", "root@web-3: connection refused"]
    assert frame["start"].iloc[0] == pd.Timestamp(1_000.0, unit="s", tz="UTC")


def test_plot_timeline_draws_a_bar_per_command() -> None:
    figure = result().plot_timeline()
    axes = figure.axes[0]
    assert len(axes.patches) == 3
    assert [t.get_text() for t in axes.get_yticklabels()] == ["web-1", "web-2", "web-3"]
    assert any("connection refused" in t.get_text() for t in axes.texts)


@pytest.fixture
def fake_mutation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Context, Path]]:
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "runs.jsonl"))
    password = Secret("sup3r-s3cret-passw0rd")

    def plan(ctx: Context, args: catalog.Args) -> Plan:
        return Plan("fake rotate", (PlannedStep("web-1", f"echo {password}"),))

    def run(ctx: Context, args: catalog.Args) -> OperationResult:
        if args.get("interrupt"):
            raise OperationInterrupted("interrupted: web-1 done, web-2 running", result())
        if args.get("explode"):
            raise RuntimeError(f"failed with {password.reveal()}")
        return result()

    catalog.register(("fake", "rotate"), "test only", mutating=True, plan=plan, run=run)
    session = Session(root=tmp_path)
    yield session.context(), tmp_path / "runs.jsonl"
    catalog._CATALOG.pop(("fake", "rotate"))


def test_a_mutating_command_appends_one_json_line(fake_mutation: tuple[Context, Path]) -> None:
    ctx, log = fake_mutation
    assert isinstance(catalog.perform(ctx, ("fake", "rotate"), {}), Plan)
    assert not log.exists(), "a plan runs nothing and logs nothing"
    catalog.perform(ctx, ("fake", "rotate"), {"reason": "scheduled"}, yes=True)
    with pytest.raises(RuntimeError):
        catalog.perform(ctx, ("fake", "rotate"), {"explode": True}, yes=True)
    first, second = (json.loads(line) for line in log.read_text().splitlines())
    assert first["command"] == "fake rotate" and first["args"] == {"reason": "scheduled"}
    assert first["status"] == "failed"  # web-2 and web-3 failed
    assert first["hosts"]["web-1"] == {"status": "ok", "ok": True, "exit_code": 0, "failure": None}
    assert first["hosts"]["web-3"]["status"] == "FAILED"
    assert first["hosts"]["web-3"]["failure"] == "root@web-3: connection refused"
    assert second["status"] == "failed" and second["error"] == "RuntimeError: failed with [REDACTED]"
    assert "sup3r-s3cret-passw0rd" not in log.read_text()


def test_an_interrupted_run_is_logged_with_each_hosts_account(fake_mutation: tuple[Context, Path]) -> None:
    ctx, log = fake_mutation
    with pytest.raises(OperationInterrupted):
        catalog.perform(ctx, ("fake", "rotate"), {"interrupt": True}, yes=True)
    entry = json.loads(log.read_text())
    assert entry["status"] == "interrupted" and entry["error"].startswith("OperationInterrupted: interrupted")
    assert {host: said["status"] for host, said in entry["hosts"].items()} == {
        "web-1": "ok",
        "web-2": "FAILED",
        "web-3": "FAILED",
    }


def test_the_run_log_is_private_to_the_user(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # it names hosts, commands and who ran them: 0600 in a 0700 directory, whatever the umask
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(tmp_path / "state" / "kamal_nb" / "runs.jsonl"))
    previous = os.umask(0o022)
    try:
        record_run(Session(root=tmp_path).context(), ("lock", "acquire"), {}, started="now", duration=0.1)
    finally:
        os.umask(previous)
    log = tmp_path / "state" / "kamal_nb" / "runs.jsonl"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    assert json.loads(log.read_text())["command"] == "lock acquire"


def test_a_run_log_left_readable_by_an_earlier_version_is_made_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "state" / "kamal_nb"
    folder.mkdir(parents=True, mode=0o755)
    folder.chmod(0o755)
    log = folder / "runs.jsonl"
    log.write_text('{"command": "deploy"}\n')
    log.chmod(0o644)
    monkeypatch.setenv("KAMAL_NB_RUN_LOG", str(log))
    record_run(Session(root=tmp_path).context(), ("lock", "release"), {}, started="now", duration=0.1)
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert [json.loads(line)["command"] for line in log.read_text().splitlines()] == ["deploy", "lock release"]


def test_a_shell_wrapped_step_reads_as_what_it_runs_in_the_timeline() -> None:
    from kamal_nb.engine.result import _brief

    wrapped = "sh -c 'docker ps --latest --format '\\''{{.Names}}'\\'' --filter label=role=web'"
    assert _brief(wrapped, 80) == "docker ps --latest --format '{{.Names}}' --filter label=role=web"
    assert _brief("docker pull app:v2") == "docker pull app:v2"
