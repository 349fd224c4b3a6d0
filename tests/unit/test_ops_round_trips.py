"""Round trips as the shell runs them: strict, tolerant and early-stopping commands (no fleet)."""

from __future__ import annotations

import subprocess

from kamal_nb.fleet import CommandResult
from kamal_nb.ops.steps import Cmd, GuardedBatch, Reply, round_trip


def run_locally(commands: list[Cmd]) -> list[tuple[int, str]]:
    """(exit code, stdout) of each command that ran, with the trip's wire text run by sh."""
    trip = round_trip(commands)
    assert isinstance(trip, GuardedBatch)
    done = subprocess.run(["sh", "-c", trip.wire()], capture_output=True, text=True, check=False)
    return [(code, out) for _, code, out, _ in trip.split(done.stdout, done.stderr)]


def test_a_strict_failure_ends_the_trip_and_a_tolerant_one_does_not() -> None:
    assert run_locally([Cmd("echo a"), Cmd("exit 4", strict=False), Cmd("echo b")]) == [(0, "a\n"), (4, ""), (0, "b\n")]
    assert run_locally([Cmd("echo a"), Cmd("exit 4"), Cmd("echo b")]) == [(0, "a\n"), (4, "")]


def test_stop_on_ok_ends_the_trip_after_a_success_only() -> None:
    asked = Cmd("echo mirror", strict=False, stop_on="ok")
    assert run_locally([Cmd("echo login"), asked, Cmd("echo pull")]) == [(0, "login\n"), (0, "mirror\n")]
    none = Cmd("echo no mirror >&2; exit 1", strict=False, stop_on="ok")
    assert run_locally([none, Cmd("echo pull")]) == [(1, ""), (0, "pull\n")]


def test_stop_on_failure_ends_the_trip_after_a_tolerated_failure_only() -> None:
    lock = Cmd("mkdir /proc/held 2>/dev/null", strict=False, stop_on="failure")
    assert run_locally([lock, Cmd("echo read")]) == [(1, "")]
    free = Cmd("true", strict=False, stop_on="failure")
    assert run_locally([free, Cmd("echo read")]) == [(0, ""), (0, "read\n")]


def test_a_lone_command_with_a_callback_still_goes_as_a_batch() -> None:
    ended: list[int] = []
    trip = round_trip([Cmd("exit 5", on_done=ended.append)])
    assert isinstance(trip, GuardedBatch)
    trip.part_done(0, 5)
    assert ended == [5]
    assert round_trip([Cmd("true")]) == "true"


def test_a_reply_part_counts_from_its_start() -> None:
    results = tuple(CommandResult("h", f"c{i}", i, f"out{i}\n", "", 0.0) for i in range(4))
    part = Reply("h", results, None, None).part(1, 3)
    assert [part.out(0), part.out(1), part.out(2)] == ["out1", "out2", ""]
    assert part.code(1) == 2 and part.ok
