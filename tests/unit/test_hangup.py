"""The hang-up prelude, under the shells a host may log in with, its stdin a pipe as sshd's is: the
command is hung up when the pipe closes while it runs, and otherwise runs as written."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest

from kamal_nb.fleet.hangup import wrap

SHELLS = [s for s in ("/bin/sh", "/bin/dash", "/bin/bash") if os.path.exists(s)]
if shutil.which("busybox"):
    SHELLS.append("busybox sh")


def started(shell: str, command: str) -> subprocess.Popen[bytes]:
    # a session of its own, as sshd gives each command; stdin a pipe that only the "channel" closes
    return subprocess.Popen(
        [*shell.split(), "-c", wrap(command)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


@pytest.mark.parametrize("shell", SHELLS)
def test_closing_the_channel_hangs_the_command_up(shell: str) -> None:
    process = started(shell, "sleep 30 | cat; echo never")
    try:
        time.sleep(0.3)
        assert process.stdin is not None
        process.stdin.close()
        assert process.wait(timeout=5) == -signal.SIGHUP
        assert process.stdout is not None and process.stdout.read() == b""
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)


@pytest.mark.parametrize("shell", SHELLS)
def test_a_command_that_ends_runs_as_written(shell: str) -> None:
    for command, expected in [
        ("printf 'a\\nb'; echo err >&2; exit 3", (3, b"a\nb", b"err\n")),
        ("sleep 0.1 & wait; echo waited $?", (0, b"waited 0\n", b"")),
        ("exec echo execd", (0, b"execd\n", b"")),
        ('set -- x; echo "$#"', (0, b"1\n", b"")),
    ]:
        process = started(shell, command)
        out, err = process.stdout.read(), process.stderr.read()  # type: ignore[union-attr]
        assert (process.wait(timeout=5), out, err) == expected, command
        assert process.stdin is not None
        process.stdin.close()  # the channel closes after the command ended: nothing to hang up


@pytest.mark.parametrize("shell", SHELLS)
def test_a_shell_that_leads_no_process_group_signals_no_one(shell: str) -> None:
    """Where the server did not give the command a session of its own, the watcher hangs up no
    one: the group it is in belongs to something else."""
    outer = subprocess.Popen(
        [*shell.split(), "-c", 'sleep 30 & sh -c "$1"; wait', "outer", wrap("sleep 29")],
        stdin=subprocess.PIPE,
        start_new_session=True,  # the outer shell leads the group; the wrapped one is only in it
    )
    try:
        time.sleep(0.3)
        assert outer.stdin is not None
        outer.stdin.close()
        time.sleep(0.7)
        assert outer.poll() is None, "the watcher hung up a group that is not its command's"
    finally:
        os.killpg(outer.pid, signal.SIGKILL)
        outer.wait()
