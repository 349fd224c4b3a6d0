"""The one runner: every operation that touches hosts runs through `run_operation` (a script through
`run_script`, which is `run_operation` around the script's items).

It records (one `Recorder`), follows the event stream to say what each host was doing, holds the
deploy lock when asked (`lock.holding`, the one lock scope), and turns an interrupt (Ctrl-C, or a
KeyboardInterrupt from a hook or an event subscriber) into one `OperationInterrupted` with a
per-host account, after the lock it took is released. Inside a script, a host's consecutive
commands go in one round trip and tolerated failures are decided in one place (`_send`).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext

from kamal_nb.commands import Command
from kamal_nb.engine.context import RunContext as Context
from kamal_nb.engine.hooks import LOCAL, run_hook
from kamal_nb.engine.lock import holding
from kamal_nb.engine.record import Interrupted, Recorder, tracking
from kamal_nb.engine.result import OperationResult
from kamal_nb.engine.script import (
    Action,
    Do,
    Gate,
    Item,
    Later,
    Local,
    Only,
    Phase,
    RunHook,
    Script,
    Section,
    StepRefused,
    _lanes,
    steps_of,
)
from kamal_nb.engine.trips import Cmd, round_trip, tolerated
from kamal_nb.fleet import CommandResult, Finished, Output, Started, Step
from kamal_nb.fleet.fanout import fan_out
from kamal_nb.redaction import redact


def run_operation(
    ctx: Context,
    operation: str,
    body: Callable[[Recorder], object],
    *,
    lock: bool = False,
    check_secrets: bool = True,
    rec: Recorder | None = None,
) -> OperationResult:
    """Run `body` (under the deploy lock with `lock`), following the events; an interrupt releases
    the lock and raises OperationInterrupted saying what happened on each host."""
    if check_secrets:
        ctx.config.check_secrets()  # a missing secret stops everything before any host is touched
    rec = rec or Recorder()
    started = time.monotonic()
    scope: AbstractContextManager[None] = holding(ctx, rec) if lock else nullcontext()
    with tracking(ctx, rec):
        try:
            with scope:
                data = body(rec)
        except (KeyboardInterrupt, Interrupted):
            rec.cancelled.set()
            raise rec.interrupted(operation, started) from None
    return rec.result(operation, started, data)


def run_script(ctx: Context, script: Script) -> OperationResult:
    """Run the script (under the deploy lock when it asks for it); every host's commands, in order."""

    def body(rec: Recorder) -> object:
        _Run(ctx, rec).section(script.items)
        return script.conclude(rec.answers) if script.conclude is not None else rec.data()

    return run_operation(ctx, script.operation, body, lock=script.lock, check_secrets=script.check_secrets)


def play(ctx: Context, rec: Recorder, script: Script) -> bool:
    """Run a script inside the operation that `rec` records (Kamal's `invoke`): its commands, failures
    and messages are that operation's; its lock is that operation's when it holds one. False when
    something failed."""
    scope: AbstractContextManager[None] = holding(ctx, rec) if script.lock else nullcontext()
    with scope:
        return _Run(ctx, rec).section(script.items)


class _Run:
    def __init__(self, ctx: Context, rec: Recorder) -> None:
        self.ctx = ctx
        self.rec = rec

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
                verdict = item.decide(self.rec.answers)
                for message in (verdict.message, *verdict.messages):
                    if message:
                        self.rec.say(message)
                if verdict.failed:
                    for host, reason in verdict.failed.items():
                        self.rec.fail(host, reason)
                    return False
                if not verdict.go:
                    return True
            elif isinstance(item, Local):
                if not self.local(item):
                    return False
            elif isinstance(item, RunHook):
                run_hook(self.ctx, item.name, command=item.command, subcommand=item.subcommand, hosts=item.hosts)
            else:
                self.rec.say(item.text)
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
        self.rec.add(LOCAL, [CommandResult(LOCAL, display, code, out, err, duration)], duration)
        if code != 0 and item.failure:
            self.rec.fail(LOCAL, item.failure)
        return code == 0

    def phase(self, phase: Phase) -> bool:
        hosts = [host for host, actions in phase.steps.items() if actions]
        if not hosts:
            return True
        self.rec.touch(hosts)
        units = [
            (host, lane)
            for host in hosts
            for lane in (_lanes(phase.steps[host]) if phase.parallel_roles else [phase.steps[host]])
        ]
        started = time.monotonic()
        ends: dict[str, float] = {}

        def unit(work: tuple[str, Sequence[Action]]) -> bool:
            host, lane = work
            try:
                return self._host(host, lane)
            finally:
                ends[host] = max(ends.get(host, 0.0), time.monotonic())

        try:
            outcomes = fan_out(
                units,
                unit,
                workers=self.ctx.runner.settings.max_parallel,
                cancel=self.rec.cancelled,
                name="kamal-nb-op",
            )
        finally:
            # a host's time in the phase: until its last lane ended
            for host, end in ends.items():
                self.rec.add(host, [], end - started)
        return all(outcomes)

    def _host(self, host: str, actions: Sequence[Action]) -> bool:
        """Run the actions in order. Consecutive commands that need no earlier answer go in one round
        trip (a GuardedBatch: each command sent as it is, in its own subshell, stopping at the first
        failure Kamal would raise on)."""
        pending: list[Do] = []
        for action in actions:
            if self.rec.cancelled.is_set():
                self.rec.fail(host, "interrupted before this step")
                return False
            if isinstance(action, Do) and isinstance(action.step, Command | str):
                pending.append(action)
                # a failure tolerated only for some output is judged before anything else runs
                if isinstance(action.tolerate, str) and not self._send(host, pending):
                    return False
                continue
            # a Later may need what the commands waiting to go will answer: they go first
            needs_answers = not isinstance(action, Later) or any(a.capture for a in pending)
            if needs_answers and not self._send(host, pending):
                return False
            if isinstance(action, Only):
                if action.when(self.rec.answers, host) and not self._host(host, action.actions):
                    return False
                continue
            if isinstance(action, Later):
                try:
                    built = action.build(self.rec.answers, host)
                except StepRefused as refused:
                    self.rec.fail(host, str(refused))
                    return False
                for step in steps_of(built):
                    later = Do(step, action.role, action.tolerate, action.capture)
                    if isinstance(step, Command | str):
                        pending.append(later)  # goes with the commands that follow it
                        if isinstance(later.tolerate, str) and not self._send(host, pending):
                            return False
                    elif not self._send(host, pending) or not self._send(host, [later]):
                        return False
            elif not self._send(host, [action]):
                return False
        return self._send(host, pending)

    def _send(self, host: str, actions: list[Do]) -> bool:
        """One round trip with these actions' steps; empties the list. False when the host failed.
        The one place where a failure is judged tolerated (Kamal's raise_on_non_zero_exit: false)."""
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
        for action, command in zip(batch, result.commands, strict=False):
            if not command.ok:
                if _tolerated(action.tolerate, command):
                    command = tolerated(command, answer=action.answer)
                else:
                    ok = False
            done.append(command)
            if action.capture:
                self.rec.capture(host, action.capture, command)
            if not ok:
                break
        self.rec.add(host, done)
        if result.error is not None:
            self.rec.fail(host, result.error)
            return False
        return ok


def _tolerated(tolerate: bool | str, result: CommandResult) -> bool:
    if isinstance(tolerate, str):
        return tolerate in result.stderr or tolerate in result.stdout
    return tolerate


def local_env(ctx: Context) -> Mapping[str, str]:
    import os

    return ctx.session.env if ctx.session.env is not None else os.environ
