"""A Kamal command body as kamal_nb plans and runs it: phases of per-host steps.

Kamal's CLI methods are a series of ``on(hosts) do … end`` blocks. In a block every host runs its
commands in order, hosts in parallel, and the block raises once all hosts are done if any failed, so
the next block never starts. Inside a block some commands may fail harmlessly
(``raise_on_non_zero_exit: false``), some answers decide what comes next (``capture``), and between
blocks a check may skip the rest of a command (``proxy remove`` with other apps installed) or stop it.

A ``Script`` says all that as data, so the same value gives the plan (every command as it will be
sent, secrets redacted, host by host) and the run:

    Script("proxy stop", (Phase({host: (Do(audit), Do(stop, tolerate=True))}),), lock=True)

* ``Do(step)``: send ``step``; a failure stops this host (and the script after this phase), unless
  ``tolerate`` (True: any failure; a string: a failure whose output contains it).
* ``Later(shown, build)``: a step made from earlier answers (a container id, a version); the plan
  shows ``shown``. ``build`` may return None (nothing to send) or raise ``StepRefused`` (the host fails
  with that message, as Kamal's ``raise`` inside an ``on`` block).
* ``Only(when, actions)``: actions run only where ``when(answers, host)`` holds.
* ``Gate(decide)``: between phases, looks at every answer; may add a message, skip the rest of its
  ``Section``, or fail hosts (which stops the script).
* ``RunHook``: one of ``.kamal/hooks``, run locally with Kamal's environment.

A ``Phase(..., parallel_roles=True)`` is Kamal's ``on_roles(parallel: true)``: on a host, each role's
actions (by their ``role``) run at the same time, on a lane of their own, instead of one role after
the other; a role that fails there does not stop the host's other roles.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from kamal_nb.commands import Command
from kamal_nb.engine.context import RunContext as Context
from kamal_nb.engine.hooks import LOCAL, hook_may_run
from kamal_nb.engine.plan import Plan, PlannedStep
from kamal_nb.fleet import Batch, CommandResult, Step, Upload

# host -> capture name -> what the command answered
Answers = Mapping[str, Mapping[str, CommandResult]]


class StepRefused(Exception):
    """Raised by a ``Later`` builder: the host fails with this message (Kamal raising in ``on``)."""


@dataclass(frozen=True)
class Do:
    step: Step
    role: str | None = None
    tolerate: bool | str = False
    capture: str | None = None
    note: str | None = None
    answer: bool = False  # a tolerated failure is an answer ("no lock"): its exit code means nothing


@dataclass(frozen=True)
class Later:
    shown: Step | Sequence[Step]
    build: Callable[[Answers, str], Step | Sequence[Step] | None]
    role: str | None = None
    tolerate: bool | str = False
    capture: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Only:
    when: Callable[[Answers, str], bool]
    actions: tuple[Action, ...]
    note: str


Action = Do | Later | Only


@dataclass(frozen=True)
class Phase:
    """One ``on(hosts)`` block: each host's actions, in order; hosts in parallel."""

    steps: Mapping[str, Sequence[Action]]
    parallel_roles: bool = False  # each role's actions on a host at the same time (see above)


@dataclass(frozen=True)
class Verdict:
    go: bool = True  # False: skip the rest of the enclosing Section (not a failure)
    message: str | None = None
    failed: Mapping[str, str] = field(default_factory=dict)  # host -> reason: stops the script
    messages: tuple[str, ...] = ()  # more lines to say, after `message`


@dataclass(frozen=True)
class Gate:
    decide: Callable[[Answers], Verdict]
    note: str  # what the plan says about the check


@dataclass(frozen=True)
class RunHook:
    name: str
    hosts: tuple[str, ...]
    command: str
    subcommand: str | None = None


@dataclass(frozen=True)
class Say:
    """A line Kamal prints besides host output."""

    text: str


@dataclass(frozen=True)
class Local:
    """A command Kamal runs on this machine (``run_locally``), e.g. the local ``docker login``. Its
    result is reported under the host name "local"; ``failure`` replaces the message when it fails."""

    command: Command
    failure: str | None = None


@dataclass(frozen=True)
class Section:
    items: tuple[Item, ...]


Item = Phase | Gate | RunHook | Say | Local | Section


@dataclass(frozen=True)
class Script:
    operation: str
    items: tuple[Item, ...]
    lock: bool = False
    notes: tuple[str, ...] = ()
    # what the result's data is, from every captured answer (default: the answers as text)
    conclude: Callable[[Answers], object] | None = None
    check_secrets: bool = False  # a missing secret stops the script before any host is touched


def answer(answers: Answers, host: str, key: str) -> str:
    """What ``host`` answered to the step captured as ``key``, stripped ("" when it did not run)."""
    result = answers.get(host, {}).get(key)
    return result.stdout.strip() if result is not None else ""


def answered_ok(answers: Answers, host: str, key: str) -> bool:
    result = answers.get(host, {}).get(key)
    return result is not None and result.exit_code == 0


# -- the plan ----------------------------------------------------------------------------------------


def plan_script(ctx: Context, script: Script) -> Plan:
    steps: list[PlannedStep] = []
    notes: list[str] = list(script.notes)
    if script.lock and not ctx.holding_lock:
        notes.append(f"holds the deploy lock on {ctx.selection.primary_host} throughout")

    def actions(host: str, items: Sequence[Action], condition: str | None) -> None:
        for action in items:
            if isinstance(action, Only):
                actions(host, action.actions, _join(condition, action.note))
                continue
            note = _join(condition, action.note)
            for step in steps_of(action.step if isinstance(action, Do) else action.shown):
                steps.append(PlannedStep(host, step, role=action.role, note=note))

    def walk(items: Sequence[Item]) -> None:
        for item in items:
            if isinstance(item, Section):
                walk(item.items)
            elif isinstance(item, Phase):
                for host, host_actions in item.steps.items():
                    actions(host, host_actions, None)
                if item.parallel_roles and any(len(_lanes(a)) > 1 for a in item.steps.values()):
                    notes.append("the roles of a host run at the same time (boot.parallel_roles)")
            elif isinstance(item, Gate):
                notes.append(item.note)
            elif isinstance(item, Local):
                steps.append(PlannedStep(LOCAL, item.command, note="runs on this machine"))
            elif isinstance(item, RunHook) and hook_may_run(ctx, item.name):
                hosts = ",".join(item.hosts)
                steps.append(PlannedStep(LOCAL, f".kamal/hooks/{item.name}", note=f"KAMAL_HOSTS={hosts}"))
                notes.append(f"runs hook {item.name} locally (KAMAL_HOSTS={hosts})")

    walk(script.items)
    return Plan(script.operation, tuple(steps), tuple(dict.fromkeys(notes)))


def _join(first: str | None, second: str | None) -> str | None:
    return "; ".join(n for n in (first, second) if n) or None


def role_of(action: Action) -> str | None:
    if isinstance(action, Only):
        return next((r for r in map(role_of, action.actions) if r is not None), None)
    return action.role


def _lanes(actions: Sequence[Action]) -> list[tuple[Action, ...]]:
    """A host's actions split by role, in order (actions of no role together)."""
    lanes: dict[str | None, list[Action]] = {}
    for action in actions:
        lanes.setdefault(role_of(action), []).append(action)
    return [tuple(lane) for lane in lanes.values()]


def steps_of(built: Step | Sequence[Step] | None) -> list[Step]:
    """A Later's steps as a list (one step, several, or none)."""
    if built is None:
        return []
    if isinstance(built, str | Command | Upload | Batch) or not isinstance(built, Sequence):
        return [built]
    return list(built)
