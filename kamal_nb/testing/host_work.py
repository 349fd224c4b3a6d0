"""What a deploy cost the fleet's hosts themselves, measured on the hosts: their docker engines'
events (``GET /events``, nanosecond times on this machine's clock, which the fleet's hosts share),
read through each host's own socket (``FleetHost.docker_socket``), so no SSH session is counted.

A host's own work for a redeploy or rollback is the union of these intervals, each between two
events of its engine:

- pull: the app image's removal (``docker image rm --force``: its ``untag``/``delete`` event) to its
  ``pull`` event (the registry fetch; Kamal removes the image and pulls it again);
- docker run: each new container's ``create`` to its ``start`` (the engine's work of ``docker run``);
- proxy deploy: the ``exec_start`` of ``kamal-proxy deploy`` in the kamal-proxy container to its
  ``exec_die``: the proxy's health checks of the new container and its switch to it;
- stop old: each stopped container's ``kill`` (SIGTERM) to its ``stop``: the engine's ``docker stop``
  ends after the container's exit (``die``, its State.FinishedAt) and its network's teardown
  (``disconnect``), which on this fleet take as long again as the exit; ``die`` where no ``stop``
  follows (a container killed outside ``docker stop``).

Left out, as the cost of how a tool drives a host and not of what the host must do: the SSH round
trips, the shells, each docker CLI process's start-up and its API calls that change nothing
(``docker ps``, ``inspect``, ``container ls``), and instant changes (rename, tag). No tool can end a
deploy sooner than its busiest host's own work; what the wall time adds to it is the tool's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from kamal_nb.testing.critical_path import covered

KINDS = ("pull", "docker run", "proxy deploy", "stop old")


@dataclass(frozen=True)
class Event:
    time: float  # seconds since the epoch
    type: str  # container, image
    action: str  # create, start, kill, die, exec_start, exec_die, pull, untag, delete...
    actor: str  # a container's id, an image's reference or id
    attributes: Mapping[str, str]

    @property
    def name(self) -> str:
        return self.attributes.get("name", "")


@dataclass(frozen=True)
class Interval:
    kind: str
    start: float
    end: float
    what: str  # the container or image

    @property
    def seconds(self) -> float:
        return self.end - self.start


def parse_event(raw: Mapping[str, Any]) -> Event:
    """One event as the engine sends it (API 1.41: Type, Action, Actor.ID/Attributes, timeNano)."""
    actor = raw.get("Actor") or {}
    nano = raw.get("timeNano") or int(raw.get("time", 0)) * 1_000_000_000
    return Event(
        time=int(nano) / 1e9,
        type=str(raw.get("Type", "")),
        action=str(raw.get("Action", raw.get("status", ""))),
        actor=str(actor.get("ID", raw.get("id", ""))),
        attributes={str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()},
    )


def intervals(events: Iterable[Event]) -> list[Interval]:
    """The host's own work (the module's definition) in its engine's events, in time order."""
    ordered = sorted(events, key=lambda e: e.time)
    found: list[Interval] = []
    removed: float | None = None
    created: dict[str, Event] = {}
    execs: dict[str, Event] = {}
    killed: dict[str, Event] = {}
    died: dict[str, Interval] = {}  # waiting for their `stop`
    for event in ordered:
        action = event.action.split(":", 1)[0]
        if event.type == "image":
            if action in ("untag", "delete") and removed is None:
                removed = event.time
            elif action == "pull":
                if removed is not None:
                    found.append(Interval("pull", removed, event.time, event.actor))
                removed = None
            continue
        if event.type != "container":
            continue
        if action == "create":
            created[event.actor] = event
        elif action == "start" and event.actor in created:
            found.append(Interval("docker run", created.pop(event.actor).time, event.time, event.name))
        elif action == "exec_start" and "kamal-proxy deploy " in event.action:
            execs[event.attributes.get("execID", "")] = event
        elif action == "exec_die" and event.attributes.get("execID", "") in execs:
            began = execs.pop(event.attributes.get("execID", ""))
            found.append(Interval("proxy deploy", began.time, event.time, began.name))
        elif action == "kill" and event.attributes.get("signal") in ("15", "SIGTERM"):
            killed.setdefault(event.actor, event)
        elif action == "die" and event.actor in killed:
            died[event.actor] = Interval("stop old", killed.pop(event.actor).time, event.time, event.name)
        elif action == "stop" and event.actor in died:
            stopped = died.pop(event.actor)
            found.append(Interval("stop old", stopped.start, event.time, stopped.what))
    found += died.values()
    return sorted(found, key=lambda i: i.start)


def busy(found: Sequence[Interval]) -> float:
    """Seconds covered by the intervals (overlaps counted once)."""
    if not found:
        return 0.0
    return covered(min(i.start for i in found), max(i.end for i in found), [(i.start, i.end) for i in found])


def by_kind(found: Sequence[Interval]) -> dict[str, float]:
    return {kind: sum(i.seconds for i in found if i.kind == kind) for kind in KINDS}


def engine_events(socket: str, since: float, until: float) -> list[Event]:
    """The engine's events between two times (seconds since the epoch), through its own socket."""
    import docker

    client = docker.DockerClient(base_url=socket, timeout=30)
    try:
        # the API takes `seconds.nanoseconds`; docker-py passes strings through as they are
        stream = client.events(since=f"{since:.9f}", until=f"{until:.9f}", decode=True)  # type: ignore[call-overload]
        return [parse_event(raw) for raw in stream]
    finally:
        client.close()
