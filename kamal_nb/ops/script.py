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

import os
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import Any

from kamal_nb.commands import Command
from kamal_nb.fleet import CommandResult, Finished, GroupResult, HostResult, Output, Started, Step
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.hooks import LOCAL, run_hook
from kamal_nb.ops.lock import deploy_lock
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, round_trip, tolerated
from kamal_nb.redaction import redact

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


@dataclass(frozen=True)
class Later:
    shown: Step
    build: Callable[[Answers, str], Step | None]
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
            step = action.step if isinstance(action, Do) else action.shown
            note = _join(condition, action.note)
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
            elif isinstance(item, RunHook) and _hook_exists(ctx, item.name):
                notes.append(f"runs hook {item.name} locally (KAMAL_HOSTS={','.join(item.hosts)})")

    walk(script.items)
    return Plan(script.operation, tuple(steps), tuple(dict.fromkeys(notes)))


def _join(first: str | None, second: str | None) -> str | None:
    return "; ".join(n for n in (first, second) if n) or None


def _hook_exists(ctx: Context, name: str) -> bool:
    from kamal_nb.commands import Hook

    return not ctx.options.skip_hooks and (ctx.session.root / Hook(ctx.config).hook_file(name)).exists()


# -- the run -----------------------------------------------------------------------------------------


def run_script(ctx: Context, script: Script) -> OperationResult:
    """Run the script (under the deploy lock when it asks for it); every host's commands, in order."""
    started = time.monotonic()
    run = _Run(ctx, script.operation)
    lock: AbstractContextManager[None] = deploy_lock(ctx) if script.lock else nullcontext()
    with lock:
        run.section(script.items)
    return OperationResult(script.operation, run.group(), time.monotonic() - started, run.data(), tuple(run.messages))


class _Run:
    def __init__(self, ctx: Context, operation: str) -> None:
        self.ctx = ctx
        self.operation = operation
        self.answers: dict[str, dict[str, CommandResult]] = {}
        self.commands: dict[str, list[CommandResult]] = {}
        self.errors: dict[str, str] = {}
        self.durations: dict[str, float] = {}
        self.messages: list[str] = []
        self.cancel = threading.Event()
        self._lock = threading.Lock()  # a host's lanes record into the same lists

    def _fail(self, host: str, reason: str) -> None:
        """The host failed; the first reason given is the one kept (its other lanes may fail after)."""
        with self._lock:
            self.errors.setdefault(host, reason)

    def section(self, items: Sequence[Item]) -> bool:
        """Run the items; False once something failed (nothing after it runs)."""
        for item in items:
            if isinstance(item, Section):
                if not self.section(item.items):
                    return False
            elif isinstance(item, Phase):
                if not self.phase(item):
                    return False
            elif isinstance(item, Gate):
                verdict = item.decide(self.answers)
                if verdict.message:
                    self.messages.append(verdict.message)
                if verdict.failed:
                    for host, reason in verdict.failed.items():
                        self.commands.setdefault(host, [])
                        self._fail(host, reason)
                    return False
                if not verdict.go:
                    return True
            elif isinstance(item, Local):
                if not self.local(item):
                    return False
            elif isinstance(item, RunHook):
                run_hook(self.ctx, item.name, command=item.command, subcommand=item.subcommand, hosts=item.hosts)
            else:
                self.messages.append(item.text)
        return True

    def local(self, item: Local) -> bool:
        events = self.ctx.session.events
        display = redact(str(item.command))
        events.publish(Started(LOCAL, 0, display))
        started = time.monotonic()
        try:
            process = subprocess.run(
                ["/bin/sh", "-c", item.command.wire()],
                cwd=self.ctx.session.root,
                env=dict(local_env(self.ctx)),
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                check=False,
            )
            code, out, err = process.returncode, redact(process.stdout), redact(process.stderr)
        except OSError as error:
            code, out, err = 127, "", redact(str(error))
        duration = time.monotonic() - started
        for stream, output in (("stdout", out), ("stderr", err)):
            for line in output.splitlines():
                events.publish(Output(LOCAL, 0, stream, line))  # type: ignore[arg-type]
        events.publish(Finished(LOCAL, 0, code, duration))
        self.commands.setdefault(LOCAL, []).append(CommandResult(LOCAL, display, code, out, err, duration))
        self.durations[LOCAL] = self.durations.get(LOCAL, 0.0) + duration
        if code != 0 and item.failure:
            self._fail(LOCAL, item.failure)
        return code == 0

    def phase(self, phase: Phase) -> bool:
        hosts = [host for host, actions in phase.steps.items() if actions]
        if not hosts:
            return True
        for host in hosts:
            self.commands.setdefault(host, [])
            self.answers.setdefault(host, {})
        units = [
            (host, lane)
            for host in hosts
            for lane in (_lanes(phase.steps[host]) if phase.parallel_roles else [phase.steps[host]])
        ]
        started = time.monotonic()
        ends: dict[str, float] = {}
        workers = max(1, min(self.ctx.runner.settings.max_parallel, len(units)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="kamal-nb-op") as pool:
            futures = [pool.submit(self.host, host, lane, ends) for host, lane in units]
            try:
                outcomes = [future.result() for future in futures]
            except KeyboardInterrupt:
                self.cancel.set()
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            finally:
                # a host's time in the phase: until its last lane ended
                for host, end in ends.items():
                    self.durations[host] = self.durations.get(host, 0.0) + end - started
        return all(outcomes)

    def host(self, host: str, actions: Sequence[Action], ends: dict[str, float]) -> bool:
        try:
            return self._host(host, actions)
        finally:
            with self._lock:
                ends[host] = max(ends.get(host, 0.0), time.monotonic())

    def _host(self, host: str, actions: Sequence[Action]) -> bool:
        """Run the actions in order. Consecutive commands that need no earlier answer go in one round
        trip (a GuardedBatch: each command sent as it is, in its own subshell, stopping at the first
        failure Kamal would raise on)."""
        pending: list[Do] = []
        for action in actions:
            if self.cancel.is_set():
                self._fail(host, "interrupted before this step")
                return False
            if isinstance(action, Do) and isinstance(action.step, Command | str):
                pending.append(action)
                # a failure tolerated only for some output is judged before anything else runs
                if isinstance(action.tolerate, str) and not self._send(host, pending):
                    return False
                continue
            if not self._send(host, pending):
                return False
            if isinstance(action, Only):
                if action.when(self.answers, host) and not self._host(host, action.actions):
                    return False
                continue
            if isinstance(action, Later):
                try:
                    built = action.build(self.answers, host)
                except StepRefused as refused:
                    self._fail(host, str(refused))
                    return False
                if built is None:
                    continue
                if not self._send(host, [Do(built, action.role, action.tolerate, action.capture)]):
                    return False
            elif not self._send(host, [action]):
                return False
        return self._send(host, pending)

    def _send(self, host: str, actions: list[Do]) -> bool:
        """One round trip with these actions' steps; empties the list. False when the host failed."""
        if not actions:
            return True
        batch = list(actions)
        actions.clear()
        step: Step
        if len(batch) == 1:
            step = batch[0].step
        else:
            commands = [a.step for a in batch if isinstance(a.step, Command | str)]
            step = round_trip([Cmd(c, strict=not a.tolerate) for c, a in zip(commands, batch, strict=True)])
        result = self.ctx.runner.run({host: [step]}, stop_on_failure=True)[host]
        done: list[CommandResult] = []
        ok = True
        with self._lock:
            for action, command in zip(batch, result.commands, strict=False):
                if not command.ok:
                    if _tolerated(action.tolerate, command):
                        command = tolerated(command)
                    else:
                        ok = False
                done.append(command)
                if action.capture:
                    self.answers[host][action.capture] = command
                if not ok:
                    break
            self.commands[host] += done
        if result.error is not None:
            self._fail(host, result.error)
            return False
        return ok

    def group(self) -> GroupResult:
        return GroupResult(
            {
                host: HostResult(host, tuple(commands), self.errors.get(host), self.durations.get(host, 0.0))
                for host, commands in self.commands.items()
            }
        )

    def data(self) -> dict[str, dict[str, str]]:
        """Every captured answer, by host: what the operation found out on the way."""
        return {host: {key: r.stdout.strip() for key, r in found.items()} for host, found in self.answers.items()}


def _role(action: Action) -> str | None:
    if isinstance(action, Only):
        return next((r for r in map(_role, action.actions) if r is not None), None)
    return action.role


def _lanes(actions: Sequence[Action]) -> list[tuple[Action, ...]]:
    """A host's actions split by role, in order (actions of no role together)."""
    lanes: dict[str | None, list[Action]] = {}
    for action in actions:
        lanes.setdefault(_role(action), []).append(action)
    return [tuple(lane) for lane in lanes.values()]


def _tolerated(tolerate: bool | str, result: CommandResult) -> bool:
    if isinstance(tolerate, str):
        return tolerate in result.stderr or tolerate in result.stdout
    return tolerate


# -- registering -------------------------------------------------------------------------------------

Builder = Callable[[Context, Args], Script]


def register_script(path: tuple[str, ...], summary: str, *, mutating: bool, build: Builder) -> None:
    """An operation whose plan and run both come from one script."""

    def plan(ctx: Context, args: Args) -> Plan:
        return plan_script(ctx, build(ctx, args))

    def run(ctx: Context, args: Args) -> OperationResult:
        return run_script(ctx, build(ctx, args))

    register(path, summary, mutating=mutating, plan=plan, run=run)


def flag(args: Args, name: str) -> bool:
    return bool(args.get(name))


def text(args: Args, name: str) -> str | None:
    value = args.get(name)
    return None if value is None or value == "" else str(value)


def command_words(args: Args, name: str = "cmd") -> str:
    """Kamal's ``join_commands``: the words of CMD…, stripped, joined by spaces."""
    words: Any = args.get(name) or ()
    if isinstance(words, str):
        words = (words,)
    return " ".join(str(w).strip() for w in words)


def local_env(ctx: Context) -> Mapping[str, str]:
    return ctx.session.env if ctx.session.env is not None else os.environ
