"""A half-made deploy lock (its directory made, its details file missing, empty or not base64) is
told apart from a held lock and from no lock, from what Kamal's own `lock status` command answers,
run here by sh on a directory laid out as on a host. The fleet test is in
tests/fleet/test_never_stop_serving.py."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from kamal_nb.commands import Lock
from kamal_nb.config import load_config
from kamal_nb.engine.lock import LockStatus, directory_age, lock_state
from tests.unit.test_ops_plans import project


def answer_of(command: str, cwd: Path) -> tuple[int, str, str]:
    done = subprocess.run(["sh", "-c", command], cwd=cwd, capture_output=True, text=True, timeout=30, check=False)
    return done.returncode, done.stdout, done.stderr


@pytest.mark.parametrize(
    ("details", "state"),
    [(None, "none"), (b"", "broken"), ("missing", "broken"), (b"%%% not base64\n", "broken"), ("held", "held")],
)
def test_the_status_answer_tells_held_broken_and_no_lock_apart(
    tmp_path: Path, details: bytes | str | None, state: str
) -> None:
    lock = Lock(load_config(root=project(tmp_path), env={}))
    if details == "held":
        taken = lock.acquire("db migration", "v1", locked_by="Ann", locked_at="2026-12-05T10:00:00Z")
        assert answer_of(taken.wire(), tmp_path)[0] == 0
    elif details is not None:
        (tmp_path / lock.lock_dir).mkdir()
        if isinstance(details, bytes):
            (tmp_path / lock.lock_details_file).write_bytes(details)
    assert lock_state(lock, *answer_of(lock.status().wire(), tmp_path)) == state
    if state == "broken":
        age = directory_age(answer_of(lock.directory_age().wire(), tmp_path)[1])
        assert age is not None and 0 <= age < 5


def test_a_broken_lock_says_its_age_and_the_way_out_unless_it_is_being_taken() -> None:
    old = LockStatus.broken_lock(".kamal/lock-demo", 7260)
    assert old.broken and not old.being_taken and old.holder == ""
    assert "made 2h 1m ago" in old.text and "clear it with `kamal lock release`" in old.text
    young = LockStatus.broken_lock(".kamal/lock-demo", 2)
    assert young.being_taken and "being taken" in young.text and "lock release" not in young.text
    assert not LockStatus.parse("Locked by: Ann at 2026-12-05T10:00:00Z\nVersion: v1\nMessage: m").broken
    assert directory_age("1700000100\n1700000000\n") == 100 and directory_age("stat: cannot stat") is None
