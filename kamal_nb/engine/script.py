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
* ``RunHook``: one of ``.kamal/hooks``, run locally with Kamal's environment (the plan lists it).

What ``kamal deploy`` and ``app boot`` need besides (Kamal's ``with_lock``, ``invoke``, barrier and
poller), as items and actions of the same value:

* ``Hold(items, before, taken)``: the deploy lock as a scope; its acquire may ride in a round trip
  of ``before`` (the pull's), captured as ``taken``.
* ``Invoke(script, context)``: another script inside this run (proxy boot, app boot, prune...).
* ``Call(shown, run)``: work Python does on this machine (the image build), shown in the plan.
* ``Pause(seconds)``: ``sleep boot.wait`` between boot groups.
* ``Upload`` steps (``Do(Upload(...))``): files written on the host, each its own round trip.
* ``Await(barrier)`` / ``Do(..., on_done=...)``: wait for a barrier that a command's end opens
  (the first healthy primary container, when ``kamal-proxy deploy`` ends).
* ``Poll(step, ready, timeout)``: ask again until ready, or fail at the deadline.
* ``OnFailure(cleanup, report)``: what a failure from here on runs (stop the new container, fetch
  its logs) and says; a ``settles`` command that succeeded ends it.
* ``Tell(say)``: something to say from the answers so far.
* ``Do(..., stop_on="ok"|"failure")``: the host's lane ends there without failing.

A ``Phase(..., parallel_roles=True)`` is Kamal's ``on_roles(parallel: true)``: on a host, each role's
actions (by their ``role``) run at the same time, on a lane of their own, instead of one role after
the other; a role that fails there does not stop the host's other roles.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from kamal_nb.commands import Command, Lock, Server
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
    # called the moment the command ends on the host, while its round trip goes on (a barrier opens)
    on_done: Callable[[int], None] | None = field(default=None, compare=False, repr=False)
    settles: bool = False  # once it succeeded, a later failure no longer runs the OnFailure clean-up
    # the host's lane ends here, not failed, on a success ("ok": a host behind a registry mirror
    # pulls later) or on a tolerated failure ("failure": what follows needed it, e.g. the lock)
    stop_on: Literal["ok", "failure"] | None = None


@dataclass(frozen=True)
class Later:
    shown: Step | Sequence[Step]
    build: Callable[[Answers, str], Step | Sequence[Step] | None]
    role: str | None = None
    tolerate: bool | str = False
    capture: str | None = None
    note: str | None = None
    on_done: Callable[[int], None] | None = field(default=None, compare=False, repr=False)
    settles: bool = False


@dataclass(frozen=True)
class Only:
    when: Callable[[Answers, str], bool]
    actions: tuple[Action, ...]
    note: str
    role: str | None = None
    planned: bool = True  # False: the plan lists these steps elsewhere already (a retry, a wave)


@dataclass(frozen=True)
class Await:
    """Wait (sending nothing) until `barrier` is resolved; a closed barrier fails the host with
    `refused` (Kamal's Healthcheck::Barrier: the other roles wait for the first healthy primary)."""

    barrier: Barrier
    refused: str
    note: str
    role: str | None = None


@dataclass(frozen=True)
class Tell:
    """Something to say (and do on this machine) from what the host answered so far."""

    say: Callable[[Answers, str], Sequence[str]]
    role: str | None = None


@dataclass(frozen=True)
class OnFailure:
    """From here on, if the host fails (reachable, not interrupted), run `cleanup` (failures
    tolerated), then `report(answers, host, cleaned)` for what to say. `OnFailure(())` ends it;
    so does a `settles` command that succeeded."""

    cleanup: tuple[Action, ...] = ()
    report: Callable[[Answers, str, bool], Sequence[str]] | None = field(default=None, compare=False)
    role: str | None = None
    failed_as: str | None = None  # the host's failure reads "<failed_as><the command's failure>"


@dataclass(frozen=True)
class Poll:
    """Kamal's Healthcheck::Poller: send `step` (answer captured as `capture`, which an earlier
    command may have answered first) until `ready(answer)`, waiting 1, 2, 3... seconds between tries
    and `delay(answer)` first; after `timeout` seconds the host fails with `failure(answer)`."""

    step: Step
    capture: str
    ready: Callable[[str], bool]
    timeout: float
    failure: Callable[[str], str]
    delay: Callable[[str], float] = lambda answer: 0.0
    note: str | None = None
    role: str | None = None


Action = Do | Later | Only | Await | Tell | OnFailure | Poll


class Barrier:
    """Opened or closed once (whichever comes first wins); `wait` says which."""

    def __init__(self) -> None:
        self._set = threading.Event()
        self._value = False
        self._lock = threading.Lock()

    def _resolve(self, value: bool) -> bool:
        with self._lock:
            if self._set.is_set():
                return False
            self._value = value
            self._set.set()
            return True

    def open(self) -> bool:
        """True when this call opened it."""
        return self._resolve(True)

    def close(self) -> bool:
        """True when this call closed it."""
        return self._resolve(False)

    def wait(self, cancelled: threading.Event) -> bool | None:
        """True opened, False closed, None when the operation was interrupted meanwhile."""
        while not self._set.wait(0.1):
            if cancelled.is_set():
                return None
        return self._value


@dataclass(frozen=True)
class Phase:
    """One ``on(hosts)`` block: each host's actions, in order; hosts in parallel (all at once with
    `all_at_once`, when some wait at a barrier for others)."""

    steps: Mapping[str, Sequence[Action]]
    parallel_roles: bool = False  # each role's actions on a host at the same time (see above)
    all_at_once: bool = False


@dataclass(frozen=True)
class Verdict:
    go: bool = True  # False: skip the rest of the enclosing Section (not a failure)
    message: str | None = None
    failed: Mapping[str, str] = field(default_factory=dict)  # host -> reason: stops the script
    messages: tuple[str, ...] = ()  # more lines to say, after `message`
    stop: bool = False  # end the whole script here, not a failure (a rollback to a missing version)


@dataclass(frozen=True)
class Gate:
    decide: Callable[[Answers], Verdict]
    note: str  # what the plan says about the check


@dataclass(frozen=True)
class RunHook:
    name: str
    hosts: tuple[str, ...] | None  # KAMAL_HOSTS (None: the selected hosts)
    command: str
    subcommand: str | None = None
    secrets: bool = False  # the hook gets the secrets in its environment (pre-/post-deploy)
    runtime: bool = False  # KAMAL_RUNTIME: seconds since the operation started (post-deploy)


@dataclass(frozen=True)
class Say:
    """A line Kamal prints besides host output."""

    text: str


@dataclass(frozen=True)
class Local:
    """A command Kamal runs on this machine (``run_locally``), e.g. the local ``docker login``. Its
    result is reported under the host name "local"; ``failure`` replaces the message when it fails;
    ``tolerate``: a failure Kamal ignores (``raise_on_non_zero_exit: false``), said in these words."""

    command: Command
    failure: str | None = None
    tolerate: str | None = None


@dataclass(frozen=True)
class Pause:
    """Sleep (Kamal's `sleep boot.wait` between boot groups); an interrupt ends it."""

    seconds: float
    note: str


@dataclass(frozen=True)
class Section:
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Invoke:
    """Another script run inside this one (Kamal's `invoke`): its commands, failures and messages
    are this run's; its lock is this run's lock (the lock scope is re-entrant). `context`: the
    command seen otherwise (another version, as Kamal's `KAMAL.config.version = …`); it holds the
    lock when this run does."""

    script: Script
    context: Any = None  # a RunContext; None: this run's


@dataclass(frozen=True)
class Hold:
    """The deploy lock as a scope: taken, `items` run, released (on failure and Ctrl-C too).

    `before` runs first; when the lock's acquire rides in it (a command captured as `taken`, on the
    primary host: the pull's round trip), the lock is held from that answer on (and released if
    `before` then fails); else it is taken after `before`, as Kamal takes it once the pull is done.
    `ensured`: `before` made `.kamal` on every host already."""

    items: tuple[Item, ...]
    before: tuple[Item, ...] = ()
    taken: str | None = None
    ensured: bool = False


@dataclass(frozen=True)
class Call:
    """Work done on this machine by Python (the image build): `shown` is what the plan lists; `run`
    records into the run's Recorder and says whether it went well."""

    shown: tuple[PlannedStep, ...]
    run: Callable[[Any], bool]  # Recorder -> ok


@dataclass(frozen=True)
class Around:
    """`items` run inside a context this machine holds open meanwhile (the SSH port forwards a local
    registry's pulls go through); `shown` is what the plan lists for it, first."""

    items: tuple[Item, ...]
    scope: Callable[[Any], AbstractContextManager[object]]  # Recorder -> the context
    shown: tuple[PlannedStep, ...] = ()


Item = Phase | Gate | RunHook | Say | Local | Section | Pause | Invoke | Hold | Call | Around


@dataclass(frozen=True)
class Script:
    operation: str
    items: tuple[Item, ...]
    lock: bool = False
    notes: tuple[str, ...] = ()
    # what the result's data is, from every captured answer and whether the script ran to its end
    # (default: the answers as text)
    conclude: Callable[[Answers, bool], object] | None = None
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
                if action.planned:
                    actions(host, action.actions, _join(condition, action.note))
                continue
            if isinstance(action, Await):
                condition = _join(condition, action.note)  # what follows it waits too
                continue
            if isinstance(action, Tell | OnFailure):
                continue
            if isinstance(action, Poll):
                last = steps[-1] if steps else None
                if last is not None and last.host == host and str(last.step) == str(action.step):
                    # asked first in the round trip before it: one line, "then polled"
                    steps[-1] = replace(last, note=_join(last.note, f"then {action.note}" if action.note else None))
                else:
                    steps.append(PlannedStep(host, action.step, role=action.role, note=_join(condition, action.note)))
                continue
            note = _join(condition, action.note)
            for step in steps_of(action.step if isinstance(action, Do) else action.shown):
                steps.append(PlannedStep(host, step, role=action.role, note=note))

    locked: list[bool] = []  # inside a Hold: the lock is the Hold's

    def walk(items: Sequence[Item]) -> None:
        for item in items:
            if isinstance(item, Section):
                walk(item.items)
            elif isinstance(item, Phase):
                for host, host_actions in item.steps.items():
                    actions(host, host_actions, None)
                if item.parallel_roles and any(len(_lanes(a)) > 1 for a in item.steps.values()):
                    notes.append("the roles of a host run at the same time (boot.parallel_roles)")
            elif isinstance(item, Gate | Pause):
                notes.append(item.note)
            elif isinstance(item, Local):
                note = "runs on this machine" + (f"; {item.tolerate} if it fails" if item.tolerate else "")
                steps.append(PlannedStep(LOCAL, item.command, note=note))
            elif isinstance(item, Invoke):
                if item.script.lock and not ctx.holding_lock and not locked:
                    notes.append(f"holds the deploy lock on {ctx.selection.primary_host} throughout")
                notes.extend(item.script.notes)
                walk(item.script.items)
            elif isinstance(item, Hold):
                walk(item.before)
                outermost = not ctx.holding_lock and not locked
                if outermost and item.taken is None:
                    steps.extend(lock_steps(ctx, ensured=item.ensured))
                locked.append(True)
                walk(item.items)
                locked.pop()
                if outermost:
                    steps.append(PlannedStep(str(ctx.selection.primary_host), Lock(ctx.config).release()))
            elif isinstance(item, Call):
                steps.extend(item.shown)
            elif isinstance(item, Around):
                steps.extend(item.shown)
                walk(item.items)
            elif isinstance(item, RunHook) and hook_may_run(ctx, item.name):
                hosts = ",".join(item.hosts if item.hosts is not None else ctx.selection.hosts)
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


def lock_steps(ctx: Context, *, ensured: bool = False) -> list[PlannedStep]:
    """The steps that take the deploy lock (`mkdir -p .kamal` on every host, then the lock)."""
    from kamal_nb.engine.lock import automatic_acquire

    primary = str(ctx.selection.primary_host)
    ensure = [] if ensured else [PlannedStep(h, Server(ctx.config).ensure_run_directory()) for h in ctx.selection.hosts]
    return [*ensure, PlannedStep(primary, automatic_acquire(ctx), note="fails if the deploy lock is held")]
