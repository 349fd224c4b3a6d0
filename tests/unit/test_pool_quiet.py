"""A host whose port takes the connection and never speaks SSH fails in one line: paramiko's
transport thread logs a traceback when the banner never comes, and nothing of it reaches stderr."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap


def test_a_port_that_never_speaks_ssh_is_one_line_and_no_traceback() -> None:
    # a fresh interpreter: Python's last-resort handler prints only where no logging is set up
    # (pytest's own capture would hide the traceback in this process)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        port = silent.getsockname()[1]
        script = textwrap.dedent(
            f"""
            from kamal_nb.fleet.pool import ConnectionPool, HostUnreachable
            from kamal_nb.fleet.settings import SshSettings
            pool = ConnectionPool(SshSettings(port={port}, connect_timeout=1.0, config_files=False, keys_only=True))
            try:
                pool.get("127.0.0.1")
            except HostUnreachable as error:
                print(error)
            """
        )
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("root@127.0.0.1:") and "no SSH answer" in done.stdout, done.stdout
    assert "Traceback" not in done.stderr and "Exception (client)" not in done.stderr, done.stderr
