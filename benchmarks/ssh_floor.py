"""The least a Python process on paramiko (fabric's SSH library) can take for a fleet question: start,
import paramiko, connect to every host at once (Nagle off, key given, no agent, no config files), run
each host's commands in one exec, read the output, exit. No kamal_nb, no fabric: it says how much of
`kamal-nb details`'s time any Python tool on paramiko must spend, so the rest is kamal_nb's.

    python benchmarks/ssh_floor.py '{"user": "root", "port": 22, "key": "KEYFILE",
                                     "hosts": {"10.0.0.1": "docker ps; docker ps -a"}}'

benchmarks/startup.py runs it beside both tools, with the commands `kamal-nb plan details` sends.
Imports nothing but the standard library and paramiko, by design: do not add any.
"""

from __future__ import annotations

import json
import socket
import sys
import threading

import paramiko


def ask(host: str, wire: str, user: str, port: int, key: paramiko.PKey, errors: list[str]) -> None:
    try:
        sock = socket.create_connection((host, port), timeout=30)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        client = paramiko.SSHClient()
        client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
        client.connect(host, port, user, pkey=key, sock=sock, look_for_keys=False, allow_agent=False, timeout=30)
        _, stdout, stderr = client.exec_command(wire, timeout=60)
        stdout.read()
        stderr.read()
        status = stdout.channel.recv_exit_status()
        if status != 0:
            errors.append(f"{host}: exit {status}")
        client.close()
    except Exception as error:  # reported by the parent, which fails loudly
        errors.append(f"{host}: {error}")


def main() -> None:
    spec = json.loads(sys.argv[1])
    key = paramiko.PKey.from_path(spec["key"])
    errors: list[str] = []
    threads = [
        threading.Thread(target=ask, args=(host, wire, spec["user"], spec["port"], key, errors))
        for host, wire in spec["hosts"].items()
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    if errors:
        raise SystemExit("; ".join(errors))


if __name__ == "__main__":
    main()
