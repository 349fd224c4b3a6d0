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
from kamal_nb.engine.lock import LockError, holding, lock_held_elsewhere, read_status, refused, release_held
from kamal_nb.engine.record import Interrupted, Recorder, tracking
from kamal_nb.engine.release_ride import ReleaseRide
from kamal_nb.engine.result import OperationResult
from kamal_nb.engine.script import (
    Action,
    Around,
    Await,
    Call,
    Do,
    Gate,
    Hold,
    Invoke,
    Item,
    Later,
    Local,
    OnFailure,
    Only,
    Pause,
    Phase,
    Poll,
    RunHook,
    Script,
    Section,
    StepRefused,
    Tell,
    _lanes,
    answer,
    answered_ok,
    steps_of,
)
from kamal_nb.engine.trips import Cmd, round_trip, tolerated
from kamal_nb.fleet import CommandResult, Failed, Finished, GroupResult, HostEvent, Output, Started, Step
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
    released: Callable[[], bool] | None = None,
) -> OperationResult:
    """Run `body` (under the deploy lock with `lock`), following the events; an interrupt releases
    the lock and raises OperationInterrupted saying what happened on each host. `released()`: whether
    `body` released the lock itself (see kamal_nb.engine.release_ride)."""
    if check_secrets:
        ctx.config.check_secrets()  # a missing secret stops everything before any host is touched
    rec = rec or Recorder()
    started = time.monotonic()
    scope: AbstractContextManager[None] = holding(ctx, rec, released=released) if lock else nullcontext()
    with tracking(ctx, rec):
        try:
            with scope:
                data = body(rec)
        except (KeyboardInterrupt, Interrupted):
            rec.cancelled.set()
            raise rec.interrupted(operation, started) from None
    return rec.result(operation, started, data)


def run_steps(ctx: Context, operation: str, execute: Callable[[], GroupResult]) -> OperationResult:
    """An operation whose steps go out as they stand (`execute` sends them: one runner call); an
    interrupt says, host by host, which commands had completed and which was hung up."""

    def body(rec: Recorder) -> object:
        displays: dict[str, str] = {}
        ended: list[tuple[str, CommandResult | str]] = []  # host, a completed command or why it failed

        def follow(event: HostEvent) -> None:
            if isinstance(event, Started):
                displays[event.host] = event.display
            elif isinstance(event, Finished):
                command = CommandResult(
                    event.host, displays.get(event.host, ""), event.exit_code, "", "", event.duration
                )
                ended.append((event.host, command))
            elif isinstance(event, Failed):
                ended.append((event.host, event.reason))

        unsubscribe = ctx.session.events.subscribe(follow)
        try:
            hosts = execute()
        except KeyboardInterrupt:
            for host, what in list(ended):
                if isinstance(what, str):
                    rec.fail(host, what)
                else:
                    rec.add(host, [what])
            raise
        finally:
            unsubscribe()
        for host, host_result in hosts.items():
            rec.add(host, host_result.commands, host_result.duration)
            if host_result.error is not None:
                rec.fail(host, host_result.error)
        return None

    return run_operation(ctx, operation, body, check_secrets=False)


def run_script(ctx: Context, script: Script) -> OperationResult:
    """Run the script (under the deploy lock when it asks for it); every host's commands, in order."""

    ride = ReleaseRide(ctx)
    items = ride.attach(script.items) if script.lock and not lock_held_elsewhere(ctx) else script.items

    def body(rec: Recorder) -> object:
        finished = _Interpreter(ctx, rec).section(items)
        return script.conclude(rec.answers, finished) if script.conclude is not None else rec.data()

    return run_operation(
        ctx, script.operation, body, lock=script.lock, check_secrets=script.check_secrets, released=ride.done
    )


def play(ctx: Context, rec: Recorder, script: Script) -> bool:
    """Run a script inside the operation that `rec` records (Kamal's `invoke`): its commands, failures
    and messages are that operation's; its lock is that operation's when it holds one. False when
    something failed."""
    scope: AbstractContextManager[None] = holding(ctx, rec) if script.lock else nullcontext()
    with scope:
        return _Interpreter(ctx, rec).section(script.items)


class _Interpreter:
    """Walks a script's items into the run's Recorder: the one place that sends a script's round
    trips, judges tolerated failures, waits, polls and cleans up."""

    def __init__(self, ctx: Context, rec: Recorder) -> None:
        self.ctx = ctx
        self.rec = rec
        self.started = time.monotonic()

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
                if verdict.stop:
                    return False
                if not verdict.go:
                    return True
            elif isinstance(item, Local):
                if not self.local(item):
                    return False
            elif isinstance(item, RunHook):
                details = {"runtime": str(round(time.monotonic() - self.started))} if item.runtime else {}
                run_hook(
                    self.ctx,
                    item.name,
                    command=item.command,
                    subcommand=item.subcommand,
                    hosts=item.hosts,
                    secrets=item.secrets,
                    **details,
                )
            elif isinstance(item, Invoke):
                if not self.invoke(item):
                    return False
            elif isinstance(item, Hold):
                if not self.hold(item):
                    return False
            elif isinstance(item, Call):
                if not item.run(self.rec):
                    return False
            elif isinstance(item, Around):
                with item.scope(self.rec):
                    if not self.section(item.items):
                        return False
            elif isinstance(item, Pause):
                if item.seconds > 0:
                    self._sleep(item.seconds)
            else:
                self.rec.say(item.text)
        return True

    def invoke(self, item: Invoke) -> bool:
        if item.context is None or item.context is self.ctx:
            scope: AbstractContextManager[None] = holding(self.ctx, self.rec) if item.script.lock else nullcontext()
            with scope:
                return self.section(item.script.items)
        other: Context = item.context
        held, other.holding_lock = other.holding_lock, self.ctx.holding_lock  # the lock is this run's
        try:
            inner = _Interpreter(other, self.rec)
            inner.started = self.started
            return inner.invoke(Invoke(item.script))
        finally:
            other.holding_lock = held

    def hold(self, item: Hold) -> bool:
        """The lock scope: `before`, then the lock (unless its acquire rode in `before`), the items,
        and the release."""
        ctx, rec = self.ctx, self.rec
        if lock_held_elsewhere(ctx):
            return self.section(item.before) and self.section(item.items)
        taken = False
        try:
            ok = self.section(item.before)
            if item.taken is not None:
                taken = self._taken(item.taken)
        except BaseException:
            if item.taken is not None and self._acquired(item.taken):
                release_held(ctx, rec)
            raise
        if not ok:  # Kamal reports a failed pull before it ever tries the lock
            if taken:
                release_held(ctx, rec)
            return False
        ride = ReleaseRide(ctx)
        items = ride.attach(item.items)
        with holding(ctx, rec, ensure_run_directory=not item.ensured, acquired=taken, released=ride.done):
            return self.section(items)

    def _acquired(self, capture: str) -> bool:
        return answered_ok(self.rec.answers, str(self.ctx.selection.primary_host), capture)

    def _taken(self, capture: str) -> bool:
        """Whether the acquire captured as `capture` took the lock; a held lock raises LockError
        with its holder (unless --lock-wait, which waits for it in the scope)."""
        primary = str(self.ctx.selection.primary_host)
        result = self.rec.answers.get(primary, {}).get(capture)
        if result is None or result.exit_code == 0:
            return result is not None  # None: the acquire never ran (the pull failed there)
        if not refused(result.stderr):
            raise LockError(f"taking the deploy lock on {primary} failed: {result.stderr.strip() or result.exit_code}")
        if not self.ctx.options.lock_wait:
            raise LockError("Deploy lock found. Run 'kamal lock help' for more information", read_status(self.ctx))
        return False

    def local(self, item: Local) -> bool:
        events = self.ctx.session.events
        display = redact(str(item.command))
        events.publish(Started(LOCAL, 0, display))
        started = time.monotonic()
        limit = self.ctx.runner.settings.command_timeout
        try:
            process = subprocess.run(
                ["/bin/sh", "-c", item.command.wire()],
                cwd=self.ctx.session.root,
                env=dict(local_env(self.ctx)),
                capture_output=True,
                text=True,
                stdin=subprocess.DEVNULL,
                check=False,
                timeout=limit,  # the hosts' command time limit binds local commands too
            )
            code, out, err = process.returncode, redact(process.stdout), redact(process.stderr)
        except subprocess.TimeoutExpired:
            code, out, err = 124, "", f"timed out after {limit:g} s (command_timeout)\n"
        except OSError as error:
            code, out, err = 127, "", redact(str(error))
        duration = time.monotonic() - started
        for stream, output in (("stdout", out), ("stderr", err)):
            for line in output.splitlines():
                events.publish(Output(LOCAL, 0, stream, line))  # type: ignore[arg-type]
        events.publish(Finished(LOCAL, 0, code, duration))
        result = CommandResult(LOCAL, display, code, out, err, duration)
        if code != 0 and item.tolerate:
            self.rec.add(LOCAL, [tolerated(result)], duration)
            self.rec.say(item.tolerate)
            return True
        self.rec.add(LOCAL, [result], duration)
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
                return self._lane(host, lane)
            finally:
                ends[host] = max(ends.get(host, 0.0), time.monotonic())

        try:
            outcomes = fan_out(
                units,
                unit,
                workers=self.ctx.runner.settings.max_parallel,
                cancel=self.rec.cancelled,
                name="kamal-nb-op",
                on_interrupt=getattr(self.ctx.runner, "abort", None),  # a stand-in runner may have none
            )
        finally:
            # a host's time in the phase: until its last lane ended
            for host, end in ends.items():
                self.rec.add(host, [], end - started)
        return all(outcomes)

    def _lane(self, host: str, actions: Sequence[Action]) -> bool:
        """One host's actions (or one role's, with parallel roles); on a failure, the clean-up of
        the OnFailure in force, then its report."""
        lane = _Lane()
        ok = self._host(host, actions, lane)
        if not ok and lane.guard is not None:
            if lane.guard.failed_as and lane.failure:
                self.rec.fail(host, lane.guard.failed_as + lane.failure)
            cleaned = False
            if not lane.unreachable and not self.rec.cancelled.is_set():
                self._host(host, lane.guard.cleanup, _Lane(), tolerant=True)
                cleaned = True
            if lane.guard.report is not None:
                for message in lane.guard.report(self.rec.answers, host, cleaned):
                    self.rec.say(message)
        return ok

    def _host(self, host: str, actions: Sequence[Action], lane: _Lane, *, tolerant: bool = False) -> bool:
        """Run the actions in order. Consecutive commands that need no earlier answer go in one round
        trip (a GuardedBatch: each command sent as it is, in its own subshell, stopping at the first
        failure Kamal would raise on)."""
        pending: list[Do] = []

        def send(actions: list[Do]) -> bool:
            if lane.stopped:  # a stop_on ended the lane: nothing more goes to this host
                actions.clear()
                return True
            return self._send(host, actions, lane, tolerant=tolerant)

        for action in actions:
            if lane.stopped:
                return True
            if self.rec.cancelled.is_set():
                self.rec.fail(host, "interrupted before this step")
                return False
            if isinstance(action, Do) and isinstance(action.step, Command | str):
                pending.append(action)
                # a failure tolerated only for some output is judged before anything else runs
                if isinstance(action.tolerate, str) and not send(pending):
                    return False
                continue
            if isinstance(action, OnFailure):  # takes effect from here: nothing needs sending first
                lane.guard = action if action.cleanup or action.report else None
                continue
            # a Later may need what the commands waiting to go will answer: they go first
            needs_answers = not isinstance(action, Later) or any(a.capture for a in pending)
            if needs_answers and not send(pending):
                return False
            if isinstance(action, Only):
                if action.when(self.rec.answers, host) and not self._host(host, action.actions, lane):
                    return False
            elif isinstance(action, Tell):
                for message in action.say(self.rec.answers, host):
                    self.rec.say(message)
            elif isinstance(action, Await):
                opened = action.barrier.wait(self.rec.cancelled)
                if opened is None or self.rec.cancelled.is_set():  # closed by the interrupt: not a failure
                    raise Interrupted()
                if not opened:
                    self.rec.fail(host, action.refused)
                    return False
            elif isinstance(action, Poll):
                if not self._poll(host, action, lane):
                    return False
            elif isinstance(action, Later):
                try:
                    built = action.build(self.rec.answers, host)
                except StepRefused as refused:
                    self.rec.fail(host, str(refused))
                    return False
                for step in steps_of(built):
                    later = Do(
                        step,
                        action.role,
                        action.tolerate,
                        action.capture,
                        on_done=action.on_done,
                        settles=action.settles,
                    )
                    if isinstance(step, Command | str):
                        pending.append(later)  # goes with the commands that follow it
                        if isinstance(later.tolerate, str) and not send(pending):
                            return False
                    elif not send(pending) or not send([later]):
                        return False
            elif not send([action]):
                return False
        return send(pending) or lane.stopped

    def _poll(self, host: str, poll: Poll, lane: _Lane) -> bool:
        check = Do(poll.step, poll.role, tolerate=True, capture=poll.capture)
        status = answer(self.rec.answers, host, poll.capture)
        attempt, deadline = 1, time.monotonic() + poll.timeout
        while True:
            delay = poll.delay(status)
            if delay > 0:
                self._sleep(delay)
                if not self._send(host, [check], lane):
                    return False
                status = answer(self.rec.answers, host, poll.capture)
            if poll.ready(status):
                return True
            left = deadline - time.monotonic()
            if left <= 0:
                self.rec.fail(host, poll.failure(status))
                return False
            self._sleep(min(attempt, left))
            attempt += 1
            if not self._send(host, [check], lane):
                return False
            status = answer(self.rec.answers, host, poll.capture)

    def _sleep(self, seconds: float) -> None:
        if self.rec.cancelled.wait(seconds):
            raise Interrupted()

    def _send(self, host: str, actions: list[Do], lane: _Lane | None = None, *, tolerant: bool = False) -> bool:
        """One round trip with these actions' steps; empties the list. False when the host failed.
        The one place where a failure is judged tolerated (Kamal's raise_on_non_zero_exit: false)."""
        if not actions:
            return True
        batch = list(actions)
        actions.clear()
        step: Step
        expected = False  # a lone command whose failure is tolerated whatever it prints
        if len(batch) == 1 and batch[0].on_done is None and batch[0].stop_on is None:
            step = batch[0].step
            expected = tolerant or batch[0].tolerate is True
        else:
            commands = [a.step for a in batch if isinstance(a.step, Command | str)]
            step = round_trip(
                [
                    Cmd(c, strict=not (a.tolerate or tolerant), on_done=a.on_done, stop_on=a.stop_on)
                    for c, a in zip(commands, batch, strict=True)
                ]
            )
        result = self.ctx.runner.run({host: [step]}, stop_on_failure=True, tolerated=expected)[host]
        done: list[CommandResult] = []
        ok = True
        for action, command in zip(batch, result.commands, strict=False):
            if not command.ok:
                if tolerant or _tolerated(action.tolerate, command):
                    command = tolerated(command, answer=action.answer)
                else:
                    ok = False
                    if lane is not None:
                        detail = (command.stderr.strip() or command.stdout.strip()).splitlines()
                        lane.failure = f"`{command.command}` exited {command.exit_code}" + (
                            f": {detail[-1]}" if detail else ""
                        )
            elif action.settles and lane is not None:
                lane.guard = None
            done.append(command)
            if action.capture:
                self.rec.capture(host, action.capture, command)
            if not ok:
                break
            stop = action.stop_on
            if (stop == "ok" and command.exit_code == 0) or (stop == "failure" and command.exit_code != 0):
                if lane is not None:
                    lane.stopped = True
                break
        self.rec.add(host, done)
        if result.error is not None:
            if lane is not None:
                lane.unreachable = True
            self.rec.fail(host, result.error)
            return False
        return ok


class _Lane:
    """What a lane of a phase keeps while it runs: the clean-up in force, and whether the host
    stopped answering (then nothing more is sent to it)."""

    def __init__(self) -> None:
        self.guard: OnFailure | None = None
        self.unreachable = False
        self.stopped = False  # a stop_on command ended the lane (not a failure)
        self.failure: str | None = None  # why a command failed it, as a host result says it


def _tolerated(tolerate: bool | str, result: CommandResult) -> bool:
    if isinstance(tolerate, str):
        return tolerate in result.stderr or tolerate in result.stdout
    return tolerate


def local_env(ctx: Context) -> Mapping[str, str]:
    import os

    return ctx.session.env if ctx.session.env is not None else os.environ
