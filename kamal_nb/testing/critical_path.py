"""Where an operation's time goes, from kamal_nb's own timeline (``OperationResult.hosts``: each
command's host, start and duration as kamal_nb saw them, batched commands split at their end markers).

- ``classify``: a command's phase (pull, lock, reads, env upload, rename, docker run, proxy deploy,
  status, stop old, tag/prune, hook, other) and role, from its text (Kamal's commands name both;
  an audit line goes with what it records, `mkdir -p .kamal` with the lock it makes room for);
- ``lanes``: seconds per phase for each host and role;
- ``critical_path``: the chain of steps that ends with the operation's last one. Walking back from
  it, each step's predecessor is the step that ended last before it started (a step waits for the
  last thing it needed: its host's previous step, or another host's — the end of a phase on every
  host, the first healthy primary container); its host's own previous step when that ended within
  ``SAME_HOST_SLACK`` of it, since a step that follows its own host's does not wait for another's.
  The gap before each step (its start less its predecessor's end) is kamal_nb's alone: deciding
  and sending the next round trip. ``began``/``ended`` (the caller's clock around the operation)
  add a lead-in (planning, connecting, the lock's first reads) and a tail (lock release, hooks);
- ``split``: the path's seconds per phase, each step's split into what the host's own work covers
  (intervals measured on the hosts, kamal_nb.testing.host_work) and the rest, kamal_nb's own.

Times are seconds since the epoch (``time.time()``): the fleet's hosts share this machine's clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from kamal_nb.fleet import CommandResult

# A step that follows its own host's previous one within this is taken to wait for that one alone.
SAME_HOST_SLACK = 0.010
# Batched commands' starts are their predecessors' ends exactly; a step is taken to follow any step
# ended up to this after its start (clocks read in different threads).
EPSILON = 0.001

START, END = "start", "end"  # the lead-in and the tail, as phases
PHASES = (
    START,
    "pull",
    "lock",
    "reads",
    "env upload",
    "rename",
    "docker run",
    "proxy deploy",
    "status",
    "stop old",
    "tag/prune",
    "hook",
    "other",
    END,
)

# First match wins: audit lines name what they record, so they go with it.
_RULES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (phase, re.compile(pattern))
    for phase, pattern in (
        ("lock", r"\.kamal/lock-|^rm -r \.kamal/lock"),
        ("hook", r"\.kamal/hooks/"),
        (
            "pull",
            r"^docker login |RegistryConfig\.Mirrors|Pulled image|^docker image rm |^docker pull |Labels\.service",
        ),
        ("rename", r"Renaming container|^docker rename "),
        ("docker run", r"Booted app version|^docker run "),
        ("proxy deploy", r"kamal-proxy deploy "),
        ("stop old", r"xargs docker stop"),
        ("status", r"State\.Health"),
        ("tag/prune", r"Tagging |^docker tag |prune"),
        ("env upload", r"^upload "),
        ("reads", r"^docker ps |^sh -c 'docker ps |kamal-proxy list|^docker container ls |/env/roles$"),
        ("lock", r"^mkdir -p \.kamal$"),  # the run directory the lock goes in
    )
)


@dataclass(frozen=True)
class Step:
    host: str
    command: str
    start: float
    end: float

    @property
    def seconds(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class PathStep:
    """A step on the critical path (or the lead-in/tail, with host ``""``)."""

    host: str
    role: str
    phase: str
    start: float
    end: float
    gap: float  # kamal_nb's alone: this step's start less its predecessor's end
    host_work: float = 0.0  # the part of [start, end] the host's own measured work covers

    @property
    def seconds(self) -> float:
        return self.end - self.start


def steps_of(hosts: Mapping[str, Iterable[CommandResult]]) -> list[Step]:
    """The timeline's steps from ``{host: HostResult.commands}``; commands without a start are left out."""
    return [
        Step(host, c.command, c.started_at, c.started_at + c.duration)
        for host, commands in hosts.items()
        for c in commands
        if c.started_at
    ]


def classify(command: str, roles: Sequence[str] = ()) -> tuple[str, str]:
    """(phase, role) of a command; role ``""`` when it is the host's, not one role's."""
    phase = next((name for name, rule in _RULES if rule.search(command)), "other")
    role = next((r for r in roles if _names_role(command, r)), "")
    return phase, role


def _names_role(command: str, role: str) -> bool:
    name = re.escape(role)
    return bool(
        re.search(
            rf"label=role={name}\b|role=\"{name}\"|-{name}-[\w.]+\b|\[{name}\]|roles/{name}\.env|"
            rf"kamal-proxy deploy \S*-{name}\b",
            command,
        )
    )


def lanes(steps: Iterable[Step], roles: Sequence[str] = ()) -> dict[str, dict[str, float]]:
    """Seconds per phase for each host and role (``"<host> <role>"``, ``"<host> -"`` for the host's
    own steps: pull, lock, tag)."""
    out: dict[str, dict[str, float]] = {}
    for step in sorted(steps, key=lambda s: (s.host, s.start)):
        phase, role = classify(step.command, roles)
        lane = out.setdefault(f"{step.host} {role or '-'}", {})
        lane[phase] = lane.get(phase, 0.0) + step.seconds
    return out


def critical_path(steps: Sequence[Step], began: float, ended: float, roles: Sequence[str] = ()) -> list[PathStep]:
    """The chain of steps the operation's end waited for, first to last, with the lead-in (``began``
    to the first step's start) and the tail (the last step's end to ``ended``) as phases of their own."""
    if not steps:
        return [PathStep("", "", START, began, ended, 0.0)]
    ordered = sorted(steps, key=lambda s: (s.end, s.start))
    chain: list[tuple[Step, float]] = []
    current: Step | None = ordered[-1]
    while current is not None:
        before = [
            s for s in ordered if s is not current and s.end <= current.start + EPSILON and s.start < current.start
        ]
        latest = max(before, key=lambda s: s.end, default=None)
        own = max((s for s in before if s.host == current.host), key=lambda s: s.end, default=None)
        if own is not None and latest is not None and latest.end - own.end <= SAME_HOST_SLACK:
            latest = own
        gap = max(0.0, current.start - latest.end) if latest is not None else 0.0
        chain.append((current, gap))
        current = latest
    chain.reverse()
    first, last = chain[0][0], chain[-1][0]
    path = [PathStep("", "", START, began, max(began, first.start), 0.0)]
    for step, gap in chain:
        phase, role = classify(step.command, roles)
        path.append(PathStep(step.host, role, phase, step.start, step.end, gap))
    path.append(PathStep("", "", END, last.end, max(last.end, ended), 0.0))
    return path


def covered(start: float, end: float, intervals: Iterable[tuple[float, float]]) -> float:
    """Seconds of [start, end] inside the union of ``intervals``."""
    total, reach = 0.0, start
    for low, high in sorted(intervals):
        low, high = max(low, reach), min(high, end)
        if high > low:
            total += high - low
            reach = high
    return total


def with_host_work(path: Sequence[PathStep], work: Mapping[str, Sequence[tuple[float, float]]]) -> list[PathStep]:
    """The path with each step's ``host_work``: the seconds of it that its host's own work covers."""
    return [replace(p, host_work=covered(p.start, p.end, work.get(p.host, ()))) for p in path]


@dataclass(frozen=True)
class PhaseTime:
    phase: str
    steps: int
    seconds: float  # on the path: the steps' time and the gaps before them
    host_work: float  # of which the hosts' own work
    hosts: tuple[str, ...]

    @property
    def own(self) -> float:
        """kamal_nb's own: round trips, CLI start-up, shells, and the gaps between steps."""
        return self.seconds - self.host_work


def split(path: Sequence[PathStep]) -> list[PhaseTime]:
    """The path's time per phase, in the order phases first appear on it (a gap counts with the step
    it came before)."""
    order: list[str] = []
    acc: dict[str, list[float]] = {}
    hosts: dict[str, list[str]] = {}
    for p in path:
        if p.phase not in acc:
            order.append(p.phase)
            acc[p.phase] = [0, 0.0, 0.0]
            hosts[p.phase] = []
        acc[p.phase][0] += 1
        acc[p.phase][1] += p.seconds + p.gap
        acc[p.phase][2] += p.host_work
        if p.host and p.host not in hosts[p.phase]:
            hosts[p.phase].append(p.host)
    return [PhaseTime(ph, int(acc[ph][0]), acc[ph][1], acc[ph][2], tuple(hosts[ph])) for ph in order]
