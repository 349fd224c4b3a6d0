"""Follow, watch and the lock's age guard on a sandbox fleet (local-directory hosts): the streams end
with their process groups, watch compares ticks, docker's timestamps become the time column. The
same operations are tested on the real fleet in tests/fleet/test_follow.py and test_incident_ops.py."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from kamal_nb.engine.errors import Refused
from kamal_nb.ops.follow import split_timestamp, start_follow, wait_and_stop
from kamal_nb.ops.lock.older_than import parse_age
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.sandbox.backend import sandbox_backend
from kamal_nb.sandbox.fleet import create_sandbox
from kamal_nb.state.watch import Watcher, render_html, render_text


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("sandbox")
    create_sandbox(root, hosts=2)
    return root


@pytest.fixture
def session(sandbox: Path) -> Session:
    return Session(root=sandbox / "project", backend=sandbox_backend(sandbox))


def test_docker_timestamps_become_the_time() -> None:
    arrived = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    when, line = split_timestamp("2026-12-05T09:00:01.123456789Z GET /up 200", arrived)
    assert when == datetime.datetime(2026, 12, 5, 9, 0, 1, 123456, tzinfo=datetime.UTC) and line == "GET /up 200"
    assert split_timestamp("no time here", arrived) == (arrived, "no time here")


def test_ages() -> None:
    assert parse_age("90s") == datetime.timedelta(seconds=90)
    assert parse_age("30m") == datetime.timedelta(minutes=30)
    assert parse_age("2h") == parse_age("7200")
    with pytest.raises(Refused, match="give an age such as 90s, 30m, 2h or 1d"):
        parse_age("soon")


def test_a_streamed_exec_is_stopped_with_its_whole_process_group(session: Session, sandbox: Path) -> None:
    marker = sandbox / "still-running"
    script = f"i=0; while true; do i=$((i+1)); echo line-$i; sleep 0.1; done; touch {marker}"
    ctx = session.context(GlobalOptions())
    follow = start_follow(ctx, ("server", "exec"), {"cmd": f"bash -c '{script}' | cat", "stream": True})
    assert len(follow.labels) == 2
    result = wait_and_stop(follow, 1.0)
    assert result.stopped_by == "time limit (1s)"
    assert follow.open_channels() == []
    for label in follow.labels:
        lines = [x.line for x in result.lines if x.host == label]
        assert lines[:3] == ["line-1", "line-2", "line-3"], lines
    assert set(result.df["host"]) == set(follow.labels)
    assert not marker.exists()
    session.close()


def test_a_stream_that_ends_by_itself_ends_the_follow(session: Session) -> None:
    follow = start_follow(
        session.context(GlobalOptions()), ("server", "exec"), {"cmd": "echo one; echo two", "stream": True}
    )
    result = wait_and_stop(follow, 10)
    assert result.stopped_by == "ended"
    assert set(result.streams.values()) == {"ended (exit 0)"}
    assert [x.line for x in result.lines if x.host == follow.labels[0]] == ["one", "two"]
    session.close()


def test_nothing_to_stream_is_refused_before_anything_runs(session: Session) -> None:
    with pytest.raises(Refused, match="No command provided"):
        start_follow(session.context(GlobalOptions()), ("server", "exec"), {"stream": True})
    with pytest.raises(Refused, match="watch: 'everything' is not something to watch"):
        Watcher(session.context(GlobalOptions()), "everything")


def test_watch_compares_each_tick_with_the_one_before(session: Session) -> None:
    watcher = Watcher(session.context(GlobalOptions()), "details")
    first = watcher.tick()
    second = watcher.tick()
    assert first.number == 1 and second.number == 2
    assert second.changed == {} and second.change_lines == ()
    assert render_text(second).startswith("tick 2 at ")
    assert "<table>" in render_html(second)
    result = watcher.result("time limit (1s)")
    assert result.ticks == 2 and list(result.df.columns) == ["time", "change"]
    session.close()


def test_one_line_is_one_line_in_the_follow_header_and_summary(session: Session) -> None:
    from kamal_nb.notebook.follow import FollowWidgets

    ctx = session.context(GlobalOptions(hosts=("10.200.0.11",)))
    follow = start_follow(ctx, ("server", "exec"), {"cmd": "sleep 0.5; echo one", "stream": True})
    view = FollowWidgets(follow)  # subscribed before the line comes
    result = wait_and_stop(follow, 10)
    view.redraw(force=True, state="ended")
    assert "— ended, 1 line" in view.header.value and "1 lines" not in view.header.value
    assert result.summary().endswith("; 1 line kept"), result.summary()
    session.close()
