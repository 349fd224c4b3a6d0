"""Helpers of the reliability suite (tests/fleet/test_reliability_*.py): operations run as a notebook
cell runs them, what the proxy serves, and the checks every fault ends with."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import HostEvent, Output, Started
from kamal_nb.ops.lock.deploy_lock import read_status
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import FleetInfo
from tests.fleet.helpers import running, version_of


def version_served(ip: str) -> str:
    """What the proxy on `ip` serves at GET /version (the error's text when nothing answers)."""
    try:
        return version_of(ip)
    except OSError as error:
        return f"unreachable: {error}"


def web_versions(fleet: FleetInfo) -> dict[str, str]:
    """GET /version through the proxy on each web host (h1, h2)."""
    return {ip: version_served(ip) for ip in fleet.host_ips[:2]}


def assert_intact(session: Session, fleet: FleetInfo, version: str) -> None:
    """The lock is released and `version` serves on every host: through the proxy on the web hosts,
    as the running jobs container on h3."""
    assert read_status(session.context()) is None, "the deploy lock must be released"
    assert web_versions(fleet) == dict.fromkeys(fleet.host_ips[:2], version)
    assert running(fleet, 0) == [f"demo-web-{version}"]
    assert running(fleet, 1) == [f"demo-web-{version}"]
    assert running(fleet, 2) == [f"demo-jobs-{version}"]


def assert_reported(result: OperationResult, failed: dict[str, str]) -> None:
    """A per-host report: each failed host is FAILED with its reason in the summary text and in .df;
    the others are ok."""
    text = str(result)
    assert f"FAILED on {len(failed)} of {len(result.hosts)} hosts" in text, text
    frame = result.df.set_index("host")
    for host, host_result in result.hosts.items():
        if host in failed:
            assert frame.loc[host, "status"] == "FAILED", text
            assert failed[host] in (host_result.failure or ""), (host, host_result.failure)
            assert f"  {host}: {host_result.failure}" in text
        else:
            assert frame.loc[host, "status"] == "ok", (host, host_result.failure)


@contextmanager
def on_event(
    session: Session, when: Callable[[HostEvent], bool], action: Callable[[], None]
) -> Iterator[threading.Event]:
    """Run `action` once, in the publishing worker, the first time an event matches `when`."""
    fired = threading.Event()
    guard = threading.Lock()

    def follow(event: HostEvent) -> None:
        with guard:
            if fired.is_set() or not when(event):
                return
            fired.set()
        action()

    unsubscribe = session.events.subscribe(follow)
    try:
        yield fired
    finally:
        unsubscribe()


def starts(host: str, text: str) -> Callable[[HostEvent], bool]:
    return lambda event: isinstance(event, Started) and event.host == host and text in event.display


def output_after(host: str, command: str) -> Callable[[HostEvent], bool]:
    """The first output line `host` prints once `command` has started there: the command is running."""
    seen = threading.Event()

    def when(event: HostEvent) -> bool:
        if isinstance(event, Started) and event.host == host and command in event.display:
            seen.set()
        return seen.is_set() and isinstance(event, Output) and event.host == host

    return when
