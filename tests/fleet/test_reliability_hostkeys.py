"""Host keys through a deploy.yml on the real fleet, as the fleet runner defines them (net-ssh's
accept-new): unknown keys are recorded on first contact, a changed key is refused with the known_hosts
file named, nothing is overwritten, the other hosts' state is untouched, and the run converges once
the known_hosts entry is fixed. (tests/fleet/test_runner.py covers the runner itself;
test_ssh_settings.py covers StrictHostKeyChecking yes from an ssh config file.)

Run with its own fleet: `KAMAL_NB_TEST_FLEET=2 .venv/bin/pytest tests/fleet/test_reliability_hostkeys.py`.
"""

from __future__ import annotations

from pathlib import Path

import paramiko
import pytest

from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, write_project
from tests.fleet.helpers import run
from tests.fleet.reliability import assert_intact, assert_reported

pytestmark = pytest.mark.fleet


def test_unknown_keys_are_recorded_and_a_changed_key_stops_the_deploy(
    fleet_control: Fleet, fleet: FleetInfo, tmp_path: Path
) -> None:
    fleet_control.reset_hosts()
    h1, h2, h3 = fleet.host_ips
    known_hosts = tmp_path / "known_hosts"
    ssh_config = tmp_path / "ssh_config"
    ssh_config.write_text(f"Host *\n  UserKnownHostsFile {known_hosts}\n  StrictHostKeyChecking accept-new\n")
    ssh = {"user": fleet.ssh_user, "keys": [fleet.ssh_key], "keys_only": True, "config": str(ssh_config)}
    project = write_project(tmp_path / "app", fleet, deploy_config(fleet, ssh=ssh))

    session = Session(root=project)
    try:
        setup = run(session, ("setup",), {"skip_push": True}, version="v1")
        assert setup.ok, str(setup)
    finally:
        session.close()
    recorded = {line.split()[0]: line for line in known_hosts.read_text().splitlines()}
    assert set(recorded) == {h1, h2, h3}
    for line in recorded.values():
        assert line.split()[2] in Path(fleet.known_hosts).read_text(), "the hosts' real keys were recorded"

    impostor = paramiko.Ed25519Key.from_private_key_file(fleet.ssh_key).get_base64()
    tampered = known_hosts.read_text().replace(recorded[h2].split()[2], impostor)
    known_hosts.write_text(tampered)
    session = Session(root=project)
    try:
        result = run(session, ("redeploy",), {"skip_push": True}, version="v2")
        assert_reported(result, {h2: f"host key of {h2} has CHANGED"})
        assert str(known_hosts) in (result.hosts[h2].failure or "")
        assert known_hosts.read_text() == tampered, "a changed key is never overwritten"
        assert_intact(session, fleet, "v1")
    finally:
        session.close()

    known_hosts.write_text("\n".join(recorded.values()) + "\n")
    session = Session(root=project)
    try:
        again = run(session, ("redeploy",), {"skip_push": True}, version="v2")
        assert again.ok, str(again)
        assert_intact(session, fleet, "v2")
    finally:
        session.close()
