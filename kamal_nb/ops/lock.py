"""The deploy lock, exactly as Kamal takes it: a directory with a base64 details file on the primary
host. A lock taken by the real Kamal is seen here, and the other way round.

    with deploy_lock(ctx):          # what every mutating operation does around its steps
        ...
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace

from kamal_nb.commands import Command, Lock, Server
from kamal_nb.commands.lock import AUTOMATIC_MESSAGE
from kamal_nb.fleet import GroupResult
from kamal_nb.ops import lock_guard
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.errors import OperationError, Refused
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, Reply, send, tolerated


class LockError(OperationError):
    """The deploy lock could not be taken (or waited for); the message says who holds it."""

    def __init__(self, message: str, holder: LockStatus | None = None) -> None:
        self.holder = holder
        super().__init__(message + (f"\n{holder.text}" if holder else ""))


@dataclass(frozen=True)
class LockStatus:
    """The details file of a held lock: `Locked by: NAME at TIME / Version: V / Message: M`."""

    text: str
    holder: str
    locked_at: str
    version: str
    message: str

    @classmethod
    def parse(cls, text: str) -> LockStatus:
        fields = {"holder": "", "locked_at": "", "version": "", "message": ""}
        lines = text.strip("\n").split("\n")
        for index, line in enumerate(lines):
            if line.startswith("Locked by: "):
                holder, _, at = line.removeprefix("Locked by: ").rpartition(" at ")
                fields["holder"], fields["locked_at"] = holder, at
            elif line.startswith("Version: "):
                fields["version"] = line.removeprefix("Version: ")
            elif line.startswith("Message: "):
                # a message may span lines: it is the last field
                fields["message"] = "\n".join([line.removeprefix("Message: "), *lines[index + 1 :]])
                break
        return cls(text.strip("\n"), **fields)


def _primary(ctx: Context) -> str:
    host = ctx.selection.primary_host
    if host is None:
        raise LockError("no primary host to hold the deploy lock (the primary role has no hosts)")
    return host


def _lock(ctx: Context) -> Lock:
    return Lock(ctx.config)


def _single(result: GroupResult, host: str) -> tuple[int, str, str]:
    """Exit code, stdout and stderr of a one-command run on `host` (raising if it could not run)."""
    host_result = result[host]
    if host_result.error is not None:
        raise LockError(f"deploy lock on {host}: {host_result.error}")
    command = host_result.commands[-1]
    return command.exit_code, command.stdout, command.stderr


def _no_lock_is_an_answer(result: GroupResult, host: str) -> GroupResult:
    """The same result, with the command that found no lock marked as the answer it is, not a failure."""
    host_result = result[host]
    commands = (*host_result.commands[:-1], tolerated(host_result.commands[-1]))
    return GroupResult({**result, host: replace(host_result, commands=commands)})


def status_result(ctx: Context) -> tuple[LockStatus | None, GroupResult]:
    """Who holds the lock (None when nobody does), and the host result of asking."""
    host = _primary(ctx)
    result = ctx.runner.run({host: [_lock(ctx).status()]})
    code, out, err = _single(result, host)
    if code == 0:
        return LockStatus.parse(out), result
    if "No such file or directory" in err:
        return None, _no_lock_is_an_answer(result, host)
    raise LockError(f"reading the deploy lock on {host} failed: {err.strip() or f'exit {code}'}")


def read_status(ctx: Context) -> LockStatus | None:
    """Who holds the lock, or None when nobody does."""
    return status_result(ctx)[0]


def try_acquire(ctx: Context, message: str, *, ensure_run_directory: bool = True) -> bool:
    """Take the lock; False when somebody holds it already (`mkdir: cannot create directory`).

    `ensure_run_directory=False`: the caller already ran `mkdir -p .kamal` on every selected host.
    """
    host = _primary(ctx)
    hosts = ctx.selection.hosts if ensure_run_directory else ()
    ensure = ctx.runner.run({h: [Server(ctx.config).ensure_run_directory()] for h in hosts})
    if not ensure.ok:
        raise LockError(
            "could not create .kamal on every host: " + "; ".join(f"{h}: {r.failure}" for h, r in ensure.failed.items())
        )
    command = _lock(ctx).acquire(message, ctx.version, locked_by=ctx.session.lock_holder, locked_at=ctx.session.now())
    code, _, err = _single(ctx.runner.run({host: [command]}), host)
    if code == 0:
        return True
    if refused(err):
        return False
    raise LockError(f"taking the deploy lock on {host} failed: {err.strip() or f'exit {code}'}")


def release_result(ctx: Context) -> tuple[bool, GroupResult]:
    """Release the lock (False when there was none), and the host result of doing it."""
    host = _primary(ctx)
    result = ctx.runner.run({host: [_lock(ctx).release()]})
    code, _, err = _single(result, host)
    if code == 0:
        return True, result
    if "No such file or directory" in err:
        return False, _no_lock_is_an_answer(result, host)
    raise LockError(f"releasing the deploy lock on {host} failed: {err.strip() or f'exit {code}'}")


def release_lock(ctx: Context) -> bool:
    """Release the lock; False when there was none."""
    return release_result(ctx)[0]


def _acquire_automatic(ctx: Context, ensure_run_directory: bool = True) -> None:
    options = ctx.options
    if not options.lock_wait:
        if not try_acquire(ctx, AUTOMATIC_MESSAGE, ensure_run_directory=ensure_run_directory):
            raise LockError("Deploy lock found. Run 'kamal lock help' for more information", read_status(ctx))
        return
    deadline = time.monotonic() + options.lock_wait_timeout
    checked_holder = False
    while not try_acquire(ctx, AUTOMATIC_MESSAGE):
        if not checked_holder:
            holder = read_status(ctx)
            # a lock somebody took by hand is not going away by itself: do not wait for it
            if holder is not None and AUTOMATIC_MESSAGE not in holder.text:
                raise LockError(
                    "Deploy lock held manually, not waiting. Run 'kamal lock help' for more information", holder
                )
            checked_holder = True
        if time.monotonic() + options.lock_wait_interval > deadline:
            raise LockError("Timed out waiting for deploy lock", read_status(ctx))
        time.sleep(options.lock_wait_interval)


def lock_held_elsewhere(ctx: Context) -> bool:
    """True when this operation must not take the lock itself (it holds it, or a hook's Kamal does)."""
    return ctx.holding_lock or os.environ.get("KAMAL_LOCK") == "true"


def automatic_acquire(ctx: Context) -> Command:
    """The command that takes the lock for an operation (`Automatic deploy lock`)."""
    return _lock(ctx).acquire(
        AUTOMATIC_MESSAGE, ctx.version, locked_by=ctx.session.lock_holder, locked_at=ctx.session.now()
    )


def refused(stderr: str) -> bool:
    """Whether a lock acquire failed because somebody holds the lock."""
    return "cannot create directory" in stderr


@contextmanager
def deploy_lock(ctx: Context, *, ensure_run_directory: bool = True, acquired: bool = False) -> Iterator[None]:
    """Hold the deploy lock around a mutating operation; released on failure and on Ctrl-C too.

    Re-entrant: inside another locked operation (or in a hook run with KAMAL_LOCK=true, as Kamal
    sets for hooks) it does nothing. `ensure_run_directory=False` skips `mkdir -p .kamal` on every
    host when the caller has just run it (a deploy's pull does, in the same round trip).
    `acquired=True`: the caller has just taken it (`automatic_acquire`, sent with other commands).
    """
    if lock_held_elsewhere(ctx):
        yield
        return
    if not acquired:
        _acquire_automatic(ctx, ensure_run_directory)
    ctx.holding_lock = True
    try:
        yield
    finally:
        ctx.holding_lock = False
        release_lock(ctx)


def lock_and_send(ctx: Context, rec: Recorder, trips: Mapping[str, Sequence[Cmd]]) -> tuple[dict[str, Reply], bool]:
    """Take the deploy lock and send `trips` once it is ours, in as few round trips as that allows.

    The primary host's trip rides on the lock's own round trip (`mkdir -p .kamal`, the lock, then
    the trip, which runs only if the lock was taken); the other hosts' follow with their `mkdir -p
    .kamal`. Returns the replies (each only to its trip) and whether the lock was taken here (the
    caller releases it then, e.g. `deploy_lock(ctx, acquired=True)`). A held lock raises LockError
    with its holder (`--lock-wait` waits for it first); nothing else has been sent then.
    """
    if lock_held_elsewhere(ctx):
        return send(ctx, rec, trips), False
    answers: dict[str, Reply] = {}
    ensure: list[Cmd] = []
    if ctx.options.lock_wait:  # waiting takes round trips of its own
        _acquire_automatic(ctx)
    else:
        primary = _primary(ctx)
        ensure = [Cmd(Server(ctx.config).ensure_run_directory())]
        take = [*ensure, Cmd(automatic_acquire(ctx), strict=False, stop_on="failure")]
        reply = send(ctx, rec, {primary: [*take, *trips.get(primary, ())]})[primary]
        code, err = reply.code(len(take) - 1), reply.err(len(take) - 1)
        if code != 0:
            if code is not None and refused(err):
                raise LockError("Deploy lock found. Run 'kamal lock help' for more information", read_status(ctx))
            raise LockError(f"taking the deploy lock on {primary} failed: {reply.error or reply.failure or err}")
        answers[primary] = reply.part(len(take))
    rest = {h: [*ensure, *trips.get(h, ())] for h in ctx.selection.hosts if h not in answers}
    rest.update({h: [*ensure, *t] for h, t in trips.items() if h not in answers})
    try:
        replies = send(ctx, rec, {h: t for h, t in rest.items() if t})
    except BaseException:
        release_lock(ctx)
        raise
    answers.update({h: r.part(len(ensure)) for h, r in replies.items() if h in trips})
    return answers, True


# -- kamal lock status | acquire -m MSG | release ----------------------------------------------------


def _plan(ctx: Context, operation: str, *commands: object) -> Plan:
    host = _primary(ctx)
    return Plan(operation, tuple(PlannedStep(host, c) for c in commands))  # type: ignore[arg-type]


def _status_plan(ctx: Context, args: Args) -> Plan:
    return _plan(ctx, "lock status", _lock(ctx).status())


def _status_run(ctx: Context, args: Args) -> OperationResult:
    started = time.monotonic()
    status, result = status_result(ctx)
    message = status.text if status else "There is no deploy lock"
    return OperationResult("lock status", result, time.monotonic() - started, status, (message,))


def _acquire_plan(ctx: Context, args: Args) -> Plan:
    message = str(args.get("message") or "")
    lock = _lock(ctx).acquire(message, ctx.version, locked_by=ctx.session.lock_holder, locked_at=ctx.session.now())
    steps = [PlannedStep(h, Server(ctx.config).ensure_run_directory()) for h in ctx.selection.hosts]
    return Plan("lock acquire", (*steps, PlannedStep(_primary(ctx), lock, note="fails if the lock is held")))


def _acquire_run(ctx: Context, args: Args) -> OperationResult:
    message = args.get("message")
    if not message:
        raise LockError("lock acquire needs a message (-m/--message)")
    started = time.monotonic()
    if not try_acquire(ctx, str(message)):
        raise LockError("Deploy lock found. Run 'kamal lock help' for more information", read_status(ctx))
    return OperationResult(
        "lock acquire", GroupResult({}), time.monotonic() - started, read_status(ctx), ("Acquired the deploy lock",)
    )


def _release_plan(ctx: Context, args: Args) -> Plan:
    plan = _plan(ctx, "lock release", _lock(ctx).release())
    if not args.get("older_than"):
        return plan
    limit = lock_guard.parse_age(str(args["older_than"]))
    note = f"released only if the lock is older than {lock_guard.format_age(limit)}; who holds it is shown first"
    return Plan(plan.operation, plan.steps, (*plan.notes, note))


def _release_run(ctx: Context, args: Args) -> OperationResult:
    started = time.monotonic()
    held: tuple[str, ...] = ()
    status = None
    if args.get("older_than"):
        # kamal_nb's guard: a lock younger than --older-than (a deploy may still run) is left alone
        limit = lock_guard.parse_age(str(args["older_than"]))
        status = read_status(ctx)
        if status is not None:
            age = lock_guard.age_of(status.locked_at, ctx.session.clock())
            held = (lock_guard.describe(status.holder, status.locked_at, status.message, age),)
            if age is None or age < limit:
                raise Refused(
                    f"{held[0]}; not released: it is not older than {lock_guard.format_age(limit)} (--older-than)"
                )
    released, result = release_result(ctx)
    message = "Released the deploy lock" if released else "There is no deploy lock"
    return OperationResult("lock release", result, time.monotonic() - started, status, (*held, message))


register(("lock", "status"), "Report lock status", mutating=False, plan=_status_plan, run=_status_run)
register(("lock", "acquire"), "Acquire the deploy lock", mutating=True, plan=_acquire_plan, run=_acquire_run)
register(("lock", "release"), "Release the deploy lock", mutating=True, plan=_release_plan, run=_release_run)
