"""`app logs -f` and `server exec --stream` on the real fleet: lines from every host within a second
of being written, and stopped (by the button, by an interrupt, by the time limit) with no channel
left open here and no process of the command left on any host."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import docker
import pytest

from kamal_nb import cli
from kamal_nb.ops.follow import Follow, StreamLine, start_follow, wait_and_stop
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import kamal_shell, set_up_with_kamal

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app set up by the real Kamal at v1: web on h1, h2 behind the proxy, jobs on h3."""
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("follow"))


def host_processes(fleet_control: Fleet, name: str, *words: str) -> list[str]:
    """The command lines of the processes in a host's namespace that contain any of `words`."""
    found = []
    for pid in fleet_control._netns_pids(name):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:
            continue
        if any(word in cmdline for word in words):
            found.append(f"{pid}: {cmdline}")
    return found


def wait_gone(fleet_control: Fleet, fleet: FleetInfo, *words: str, timeout: float = 5.0) -> dict[str, list[str]]:
    deadline = time.monotonic() + timeout
    while True:
        left = {h.name: host_processes(fleet_control, h.name, *words) for h in fleet.hosts}
        left = {name: procs for name, procs in left.items() if procs}
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def write_line(fleet: FleetInfo, index: int, text: str) -> None:
    """A line on the demo container's own stdout (what `docker logs` shows), written on the host."""
    engine = docker.DockerClient(base_url=fleet.hosts[index].docker_socket, timeout=30)
    try:
        (container,) = [c for c in engine.containers.list() if c.labels.get("service") == "demo"]
        container.exec_run(["sh", "-c", f"echo {text} > /proc/1/fd/1"])
    finally:
        engine.close()


@pytest.fixture
def following(session: Session) -> Iterator[dict[str, Any]]:
    """A follow of `app logs -f` on every app host, with each line's arrival time."""
    arrivals: list[tuple[float, StreamLine]] = []
    follow = start_follow(session.context(GlobalOptions()), ("app", "logs"), {"follow": True})
    follow.subscribe(lambda line: arrivals.append((time.monotonic(), line)))
    yield {"follow": follow, "arrivals": arrivals}
    follow.stop()


def test_logs_follow_shows_every_host_within_a_second_and_the_button_stops_it(
    following: dict[str, Any], fleet_control: Fleet, fleet: FleetInfo
) -> None:
    follow: Follow = following["follow"]
    arrivals: list[tuple[float, StreamLine]] = following["arrivals"]
    assert follow.labels == fleet.host_ips
    assert wait_gone(fleet_control, fleet, "docker logs", timeout=0) != {}, "a docker logs runs on the hosts"
    time.sleep(1.0)  # the last lines Kamal shows (--tail 10) come first
    delays = {}
    for index, host in enumerate(fleet.host_ips):
        marker = f"follow-marker-{index}-{time.time_ns()}"
        written = time.monotonic()
        write_line(fleet, index, marker)
        deadline = written + 3
        while time.monotonic() < deadline:
            seen = [at for at, line in list(arrivals) if marker in line.line and line.host == host]
            if seen:
                delays[host] = seen[0] - written
                break
            time.sleep(0.01)
    assert set(delays) == set(fleet.host_ips), f"lines seen from {sorted(delays)} only"
    assert max(delays.values()) < 10.0, delays  # bounded, not timed: how fast is for benchmarks
    # the stop button: a request from another thread (the widget's callback), the wait then stops
    threading.Timer(0.3, lambda: follow.request_stop("stop button")).start()
    result = wait_and_stop(follow, 30)
    assert result.stopped_by == "stop button"
    assert all(state == "stopped (stop button)" for state in result.streams.values()), result.streams
    assert follow.open_channels() == []
    assert wait_gone(fleet_control, fleet, "docker logs", "xargs") == {}
    df = result.df
    assert list(df.columns) == ["host", "time", "line"]
    assert {h for h, line in zip(df["host"], df["line"], strict=True) if "follow-marker" in line} == set(fleet.host_ips)
    assert str(df["time"].dt.tz) == "UTC", "docker's timestamps become the time column"


def test_an_interrupt_stops_the_follow_cleanly(
    following: dict[str, Any], fleet_control: Fleet, fleet: FleetInfo
) -> None:
    follow: Follow = following["follow"]
    # the kernel's interrupt is a SIGINT to its process: a KeyboardInterrupt in the waiting cell
    threading.Timer(1.0, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    result = wait_and_stop(follow, 30)
    assert result.stopped_by == "interrupted"
    assert follow.open_channels() == []
    assert wait_gone(fleet_control, fleet, "docker logs", "xargs") == {}


def test_server_exec_streams_until_the_time_limit_and_leaves_nothing(
    session: Session, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    ctx = session.context(GlobalOptions(hosts=(fleet.host_ips[0],)))
    script = "i=0; while true; do i=$((i+1)); echo tick-$i; sleep 0.2; done"
    follow = start_follow(ctx, ("server", "exec"), {"cmd": f"sh -c '{script}'", "stream": True})
    result = wait_and_stop(follow, 1.5)
    assert result.stopped_by == "time limit (1.5s)"
    ticks = [line.line for line in result.lines]
    assert ticks[:3] == ["tick-1", "tick-2", "tick-3"], ticks
    assert wait_gone(fleet_control, fleet, "tick-") == {}
    audit = (fleet_control.node_dir("h1") / "root" / ".kamal" / "demo-audit.log").read_text()
    assert f"Executed cmd 'sh -c '{script}'' on {fleet.host_ips[0]}" in audit


def test_magic_logs_follow_stop_button_and_cli(project: Path, fleet_control: Fleet, fleet: FleetInfo) -> None:
    """`%kamal app logs -f` with widgets: the stop button's click ends the cell; the value is the result."""
    cwd = os.getcwd()
    os.chdir(project)
    try:
        with kamal_shell("on") as shell:
            magics = shell.magics_manager.registry["KamalMagics"]

            def click() -> None:
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    view = magics.last_view
                    if view is not None and hasattr(view, "stop_button"):
                        view.stop_button.click()
                        return
                    time.sleep(0.05)

            clicker = threading.Thread(target=click)
            clicker.start()
            result = shell.run_line_magic("kamal", "app logs -f -n 3 -h " + fleet.host_ips[0])
            clicker.join()
        assert result.stopped_by == "stop button"
        assert list(result.streams) == [fleet.host_ips[0]]
        assert wait_gone(fleet_control, fleet, "docker logs", "xargs") == {}
        # kamal-nb streams the lines (labelled when several hosts stream) until --for
        out, err = io.StringIO(), io.StringIO()
        threading.Timer(1.0, lambda: write_line(fleet, 1, "cli-marker")).start()
        code = cli.main(["app", "logs", "-f", "--for", "2.5", "-r", "web"], out=out, err=err)
        assert code == 0, err.getvalue()
        assert f"{fleet.host_ips[1]} | " in out.getvalue() and "cli-marker" in out.getvalue()
        assert "time limit (2.5s)" in err.getvalue()
        assert wait_gone(fleet_control, fleet, "docker logs", "xargs") == {}
    finally:
        os.chdir(cwd)
