"""deploy.yml's ssh settings reach the hosts as Kamal's would: jump hosts, proxy commands, ssh config."""

from __future__ import annotations

from pathlib import Path

import pytest

from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import FleetInfo
from kamal_nb.testing.project import deploy_config, write_project
from kamal_nb.testing.sshlog import SshCounter

pytestmark = pytest.mark.fleet


def audit_through(project: Path) -> OperationResult:
    session = Session(root=project)
    try:
        result = catalog.perform(session.context(), ("audit",), {})
    finally:
        session.close()
    assert isinstance(result, OperationResult)
    return result


def test_a_jump_host_carries_the_connection(clean_fleet: FleetInfo, tmp_path: Path) -> None:
    fleet = clean_fleet
    jump, target = fleet.hosts[0], fleet.hosts[1]
    ssh = {"user": "root", "keys": [fleet.ssh_key], "keys_only": True, "config": fleet.ssh_config, "proxy": jump.ip}
    config = deploy_config(fleet, servers={"web": [target.ip]}, ssh=ssh)
    project = write_project(tmp_path, fleet, config)
    counter = SshCounter(fleet)
    result = audit_through(project)
    assert list(result.hosts) == [target.ip]
    assert result.hosts[target.ip].error is None  # no audit log yet: tail fails, the host was reached
    log = (Path(fleet.base) / "nodes" / target.name / "sshd.log").read_text()
    assert f"Accepted publickey for root from {jump.ip} " in log, "the target must see the jump host"
    assert counter.counts()[jump.ip].connections == 1


def test_a_proxy_command_with_tokens_carries_the_connection(clean_fleet: FleetInfo, tmp_path: Path) -> None:
    fleet = clean_fleet
    jump, target = fleet.hosts[0], fleet.hosts[2]
    command = f"ssh -F {fleet.ssh_config} -W %h:%p root@{jump.ip}"
    ssh = {"keys": [fleet.ssh_key], "keys_only": True, "config": fleet.ssh_config, "proxy_command": command}
    project = write_project(tmp_path, fleet, deploy_config(fleet, servers={"web": [target.ip]}, ssh=ssh))
    result = audit_through(project)
    assert result.hosts[target.ip].error is None
    log = (Path(fleet.base) / "nodes" / target.name / "sshd.log").read_text()
    assert f"Accepted publickey for root from {jump.ip} " in log


def test_strict_host_key_checking_from_the_ssh_config_file(clean_fleet: FleetInfo, tmp_path: Path) -> None:
    fleet = clean_fleet
    strict = tmp_path / "ssh_config"
    strict.write_text(f"Host *\n  UserKnownHostsFile {tmp_path / 'empty_known_hosts'}\n  StrictHostKeyChecking yes\n")
    ssh = {"keys": [fleet.ssh_key], "keys_only": True, "config": str(strict)}
    project = write_project(tmp_path / "app", fleet, deploy_config(fleet, ssh=ssh))
    result = audit_through(project)
    assert not result.ok
    for host in fleet.host_ips:
        assert (result.hosts[host].failure or "").startswith(f"host key of {host} is unknown")
