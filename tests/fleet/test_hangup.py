"""An interrupted command ends on its host (issue 16 item 2): SIGINT or SIGTERM to `kamal-nb server
exec` exits within 5 s with the per-host account and no traceback, and a few seconds later nothing
of the command runs on the host. A command that writes (`yes | head`: tests/fleet/test_liveness.py)
dies of SIGPIPE when the channel closes; a silent one (`sleep` here) only of a hang-up, which sshd
without a terminal never sends: kamal_nb.fleet.hangup's watcher does. It changes nothing else a
command does: output, exit codes, its own `wait`.

Run with its own fleet: `KAMAL_NB_TEST_FLEET=3 .venv/bin/pytest tests/fleet/test_hangup.py`.
"""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from kamal_nb.fleet import EventStream, FleetRunner
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.project import deploy_config, write_project
from tests.fleet.test_liveness import Cli
from tests.fleet.test_runner import settings_for

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    # `server exec` needs only SSH: nothing is deployed
    return write_project(tmp_path_factory.mktemp("hangup"), fleet, deploy_config(fleet))


def programs_on(fleet_control: Fleet, name: str, programs: set[str]) -> list[str]:
    """Which of `programs` run on the host (its processes, by name)."""
    found = []
    for pid in fleet_control._netns_pids(name):
        try:
            program = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        if program in programs:
            found.append(program)
    return found


def wait_until(condition: object, timeout: float, why: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, why
        time.sleep(0.1)


@pytest.mark.parametrize("which", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_an_interrupted_silent_server_exec_ends_on_the_host(
    project: Path, fleet_control: Fleet, fleet: FleetInfo, which: signal.Signals
) -> None:
    """`yes | head` (writing): tests/fleet/test_liveness.py; `sleep` writes nothing, so no SIGPIPE ends it."""
    command, programs = "sleep 611 | cat; echo never", {"sleep"}
    h1 = fleet.host_ips[0]
    assert not programs_on(fleet_control, "h1", programs)
    cli = Cli(project, "server", "exec", "-h", h1, command)
    try:
        wait_until(lambda: programs_on(fleet_control, "h1", programs) or cli.process.poll() is not None, 60, "")
        assert cli.process.poll() is None, cli.text()
        time.sleep(1)
        took = cli.terminate(which)
    finally:
        if cli.process.poll() is None:
            cli.process.kill()
    cli.assert_interrupted_server_exec(which, took, h1)
    wait_until(
        lambda: not programs_on(fleet_control, "h1", programs),
        5,
        f"{programs_on(fleet_control, 'h1', programs)} still run on h1 after {which.name}",
    )


def test_a_hung_up_runner_command_ends_on_the_host(fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path) -> None:
    """FleetRunner.abort (what an interrupt does in a notebook) ends a silent command on its host."""
    h1 = fleet.host_ips[0]
    settings = settings_for(fleet, tmp_path / "known_hosts")
    with FleetRunner(settings, EventStream()) as runner:
        done: list[object] = []
        worker = threading.Thread(target=lambda: done.append(runner.run({h1: ["sleep 612; echo never"]})))
        worker.start()
        wait_until(lambda: programs_on(fleet_control, "h1", {"sleep"}), 30, "sleep never started")
        runner.abort()
        worker.join(10)
        assert done and "interrupted" in (done[0][h1].failure or "")  # type: ignore[index]
        wait_until(lambda: not programs_on(fleet_control, "h1", {"sleep"}), 5, "sleep 612 still runs on h1")


def test_the_wrapper_changes_nothing_a_command_does(fleet: FleetInfo, tmp_path: Path) -> None:
    h1 = fleet.host_ips[0]
    settings = settings_for(fleet, tmp_path / "known_hosts")
    with FleetRunner(settings, EventStream()) as runner:
        result = runner.run(
            {
                h1: [
                    "printf 'a\\nb'; echo err >&2; exit 3",
                    "sleep 0.2 & wait; echo waited $?",
                    "exec echo execd",
                    'test -t 0 || echo "no terminal"',
                ]
            },
            stop_on_failure=False,
        )
    outputs = [(c.exit_code, c.stdout, c.stderr) for c in result[h1].commands]
    assert outputs == [(3, "a\nb", "err\n"), (0, "waited 0\n", ""), (0, "execd\n", ""), (0, "no terminal\n", "")]
    assert result[h1].commands[0].command == "printf 'a\\nb'; echo err >&2; exit 3"
