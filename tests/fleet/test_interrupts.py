"""Ctrl-C during every family of mutating operation: one OperationInterrupted saying, host by host,
what had been done and what was running; the deploy lock the operation took is released; the next
operation runs. The interrupt is a KeyboardInterrupt raised by an event subscriber the moment a
given command starts on a host (what Ctrl-C does to the thread that happens to run then)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from kamal_nb.engine.record import OperationInterrupted
from kamal_nb.fleet import HostEvent, Started
from kamal_nb.ops.lock.deploy_lock import read_status
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import run, set_up_with_kamal
from tests.fleet.project import deploy_config
from tests.fleet.reliability import on_event

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app at v1 (set up by the real Kamal) with an accessory on the jobs host."""
    accessory = {"image": f"{fleet.registry}/base/busybox:latest", "host": fleet.hosts[2].ip, "cmd": "sleep 1000000"}
    config = deploy_config(fleet, accessories={"cache": accessory})
    return set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("interrupts"), config)


def starts(host: str, text: str) -> Callable[[HostEvent], bool]:
    return lambda event: isinstance(event, Started) and event.host == host and text in event.display


def press_ctrl_c() -> None:
    raise KeyboardInterrupt


def interrupted(
    session: Session, when: Callable[[HostEvent], bool], path: tuple[str, ...], args: dict[str, object], **options: str
) -> str:
    """Run the operation, interrupted when `when` first matches; the interrupt's message."""
    with on_event(session, when, press_ctrl_c) as fired, pytest.raises(OperationInterrupted) as raised:
        run(session, path, args, **options)
    assert fired.is_set()
    assert raised.value.result.operation  # what completed is there
    return str(raised.value)


def assert_accounted(message: str, hosts: list[str], *, locked: bool = True) -> None:
    for host in hosts:
        assert f"  {host}: " in message, message
    if locked:
        assert "the deploy lock was released" in message, message


def test_deploy_and_redeploy(session: Session, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    message = interrupted(session, starts(h1, "kamal-proxy deploy"), ("deploy",), {"skip_push": True}, version="v2")
    assert_accounted(message, fleet.host_ips)
    assert read_status(session.context()) is None
    assert run(session, ("redeploy",), {"skip_push": True}, version="v2").ok


def test_rollback(session: Session, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    message = interrupted(session, starts(h1, "docker run"), ("rollback",), {"version": "v1"})
    assert_accounted(message, fleet.host_ips)
    assert read_status(session.context()) is None
    assert run(session, ("rollback",), {"version": "v1"}).ok


def test_app_stop(session: Session, fleet: FleetInfo) -> None:
    h2 = fleet.host_ips[1]
    message = interrupted(session, starts(h2, "docker"), ("app", "stop"), {})
    assert_accounted(message, [h2])
    assert read_status(session.context()) is None
    assert run(session, ("app", "start"), {}).ok


def test_accessory_boot(session: Session, fleet: FleetInfo) -> None:
    h3 = fleet.host_ips[2]
    assert run(session, ("accessory", "remove"), {"name": "cache"}).ok
    message = interrupted(session, starts(h3, "docker run"), ("accessory", "boot"), {"name": "cache"})
    assert_accounted(message, [h3])
    assert read_status(session.context()) is None
    assert run(session, ("accessory", "boot"), {"name": "cache"}).ok


def test_env_push(session: Session, fleet: FleetInfo) -> None:
    h1 = fleet.host_ips[0]
    message = interrupted(session, starts(h1, "upload"), ("env", "push"), {})
    assert_accounted(message, [h1])
    assert read_status(session.context()) is None
    assert run(session, ("env", "push"), {}).ok


def test_prune(session: Session, fleet: FleetInfo) -> None:
    h2 = fleet.host_ips[1]
    message = interrupted(session, starts(h2, "docker"), ("prune", "all"), {})
    assert_accounted(message, [h2])
    assert read_status(session.context()) is None
    assert run(session, ("prune", "all"), {}).ok
