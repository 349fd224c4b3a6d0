"""benchmarks/ssh_floor.py, the bare-paramiko floor that startup.py prints beside `kamal-nb details`:
it really asks every host, and fails naming the host whose command failed."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

from kamal_nb.testing.fleet import FleetInfo

FLOOR = Path(__file__).parents[2] / "benchmarks" / "ssh_floor.py"


def floor(fleet: FleetInfo, hosts: dict[str, str]) -> subprocess.CompletedProcess[str]:
    spec = {"user": fleet.ssh_user, "port": 22, "key": fleet.ssh_key, "hosts": hosts}
    return subprocess.run(
        [sys.executable, str(FLOOR), json.dumps(spec)], capture_output=True, text=True, timeout=120, check=False
    )


@pytest.mark.fleet
def test_the_floor_runs_each_hosts_commands_and_names_a_failing_host(fleet: FleetInfo) -> None:
    ips = fleet.host_ips
    ran = floor(fleet, {ip: "docker ps --format '{{.Names}}'; true" for ip in ips})
    assert ran.returncode == 0, ran.stderr
    failed = floor(fleet, {ips[0]: "true", ips[1]: "true; exit 3"})
    assert failed.returncode != 0
    assert f"{ips[1]}: exit 3" in failed.stderr and ips[0] not in failed.stderr


def test_the_floor_imports_nothing_but_the_standard_library_and_paramiko() -> None:
    tree = ast.parse(FLOOR.read_text())
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    imported |= {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }
    assert imported - set(sys.stdlib_module_names) == {"paramiko"}
