"""`kamal lock status | acquire -m MSG | release`, as engine scripts on the primary host.

The deploy lock itself (taking, holding, releasing it around an operation) is the engine's one
lock scope, kamal_nb.engine.lock, re-exported here.
"""

from __future__ import annotations

import datetime

from kamal_nb.commands import Lock, Server
from kamal_nb.engine.errors import Refused
from kamal_nb.engine.lock import (
    LockError,
    LockStatus,
    automatic_acquire,
    directory_age,
    holding,
    lock_held_elsewhere,
    lock_state,
    read_status,
    refused,
    release_lock,
    release_result,
    status_result,
    try_acquire,
)
from kamal_nb.ops.arguments import LockArguments, NoArguments, ReleaseArguments
from kamal_nb.ops.lock import older_than
from kamal_nb.ops.script import (
    Answers,
    Do,
    Gate,
    Later,
    Phase,
    Script,
    Verdict,
    answer,
    answered_ok,
    register_script,
)
from kamal_nb.ops.session import Context

NO_LOCK = "No such file or directory"  # what `cat`/`rm` of the lock say when nobody holds it

__all__ = [
    "LockError",
    "LockStatus",
    "automatic_acquire",
    "holding",
    "lock_held_elsewhere",
    "read_status",
    "refused",
    "release_lock",
    "release_result",
    "status_result",
    "try_acquire",
]


def _primary(ctx: Context) -> str:
    host = ctx.selection.primary_host
    if host is None:
        raise LockError("no primary host to hold the deploy lock (the primary role has no hosts)")
    return str(host)


def _state(ctx: Context, answers: Answers, host: str) -> str:
    """ "held", "none", "broken" or "error" (see `lock_state`); "none" when the status was not read."""
    result = answers.get(host, {}).get("status")
    if result is None:
        return "none"
    return lock_state(Lock(ctx.config), result.exit_code, result.stdout, result.stderr)


def _held(ctx: Context, answers: Answers, host: str) -> LockStatus | None:
    state = _state(ctx, answers, host)
    if state == "held":
        return LockStatus.parse(answers[host]["status"].stdout)
    if state == "broken":
        age = directory_age(answer(answers, host, "age")) if answered_ok(answers, host, "age") else None
        return LockStatus.broken_lock(Lock(ctx.config).lock_dir, age)
    return None


def _status_reads(ctx: Context, host: str, note: str | None = None) -> tuple[Phase, Phase]:
    """The lock's details, then (only for a broken lock, whose details name no holder and no time)
    the age of its directory."""
    lock = Lock(ctx.config)
    read = Do(lock.status(), tolerate=True, capture="status", answer=True, note=note)
    age = Later(
        lock.directory_age(),
        lambda answers, h: lock.directory_age() if _state(ctx, answers, h) == "broken" else None,
        tolerate=True,
        capture="age",
        note="only for a broken lock (its details file missing, empty or unreadable): its directory's age",
    )
    return Phase({host: (read,)}), Phase({host: (age,)})


def _unreadable(ctx: Context, answers: Answers, host: str) -> Verdict | None:
    if _state(ctx, answers, host) != "error":
        return None
    result = answers[host]["status"]
    return Verdict(failed={host: f"reading the deploy lock on {host} failed: {result.stderr.strip() or 'no answer'}"})


def _status(ctx: Context, args: NoArguments) -> Script:
    host = _primary(ctx)

    def say(answers: Answers) -> Verdict:
        held = _held(ctx, answers, host)
        return _unreadable(ctx, answers, host) or Verdict(message=held.text if held else "There is no deploy lock")

    return Script(
        "lock status",
        (*_status_reads(ctx, host), Gate(say, "says who holds it")),
        conclude=lambda a, finished: _held(ctx, a, host),
    )


def _acquire(ctx: Context, args: LockArguments) -> Script:
    message = args.message
    if not message:
        raise LockError("lock acquire needs a message (-m/--message)")
    host = _primary(ctx)
    lock = Lock(ctx.config)
    take = lock.acquire(str(message), ctx.version, locked_by=ctx.session.lock_holder, locked_at=ctx.session.now())

    def taken(answers: Answers) -> Verdict:
        if answered_ok(answers, host, "acquire"):
            return Verdict()
        result = answers.get(host, {}).get("acquire")
        if result is not None and refused(result.stderr):
            raise LockError("Deploy lock found. Run 'kamal lock help' for more information", read_status(ctx))
        return Verdict(failed={host: f"taking the deploy lock on {host} failed"})

    def say(answers: Answers) -> Verdict:
        return Verdict(message="Acquired the deploy lock")

    items = (
        Phase({h: (Do(Server(ctx.config).ensure_run_directory()),) for h in ctx.selection.hosts}),
        Phase({host: (Do(take, tolerate="cannot create directory", capture="acquire", note="fails if held"),)}),
        Gate(taken, "stops if somebody holds the lock"),
        Phase({host: (Do(lock.status(), capture="status", note="the lock as taken"),)}),
        Gate(say, "says who holds it now"),
    )
    return Script("lock acquire", items, conclude=lambda a, finished: _held(ctx, a, host))


def _release(ctx: Context, args: ReleaseArguments) -> Script:
    host = _primary(ctx)
    lock = Lock(ctx.config)
    release = Do(lock.release(), tolerate=NO_LOCK, capture="release", answer=True)
    # Kamal's release removes the details file first: a broken lock whose details file was never
    # made would stay forever, so its directory alone is removed then (gone already: no lock)
    directory = Later(
        lock.remove_directory(lock.lock_dir),
        lambda answers, h: None if answered_ok(answers, h, "release") else lock.remove_directory(lock.lock_dir),
        tolerate=NO_LOCK,
        capture="directory",
        note="only if there was no details file: a broken lock's directory",
    )
    guard: tuple[Phase | Gate, ...] = ()
    if args.older_than:
        guard = _age_guard(ctx, host, older_than.parse_age(args.older_than))

    def say(answers: Answers) -> Verdict:
        if answered_ok(answers, host, "release"):
            return Verdict(message="Released the deploy lock")
        if answered_ok(answers, host, "directory"):
            return Verdict(message="Released the broken deploy lock (it had no details file)")
        return Verdict(message="There is no deploy lock")

    items = (*guard, Phase({host: (release,)}), Phase({host: (directory,)}), Gate(say, "says whether there was a lock"))
    return Script("lock release", items, conclude=lambda a, finished: _held(ctx, a, host))


def _age_guard(ctx: Context, host: str, limit: datetime.timedelta) -> tuple[Phase | Gate, ...]:
    """kamal_nb's `--older-than`: who holds the lock is said first, and a lock younger than `limit`
    (a deploy may still be running) is left alone."""
    reads = _status_reads(ctx, host, note="who holds it, since when")

    def old_enough(answers: Answers) -> Verdict:
        unreadable = _unreadable(ctx, answers, host)
        if unreadable is not None:
            return unreadable
        held = _held(ctx, answers, host)
        if held is None:
            return Verdict()
        if held.broken:
            age = datetime.timedelta(seconds=held.age_seconds) if held.age_seconds is not None else None
            said = held.text
        else:
            age = older_than.age_of(held.locked_at, ctx.session.clock())
            said = older_than.describe(held.holder, held.locked_at, held.message, age)
        if age is None or age < limit:
            raise Refused(f"{said}; not released: it is not older than {older_than.format_age(limit)} (--older-than)")
        return Verdict(message=said)

    return (*reads, Gate(old_enough, f"releases only a lock older than {older_than.format_age(limit)}"))


register_script(("lock", "status"), "Report lock status", mutating=False, build=_status, arguments=NoArguments)
register_script(("lock", "acquire"), "Acquire the deploy lock", mutating=True, build=_acquire, arguments=LockArguments)
register_script(
    ("lock", "release"), "Release the deploy lock", mutating=True, build=_release, arguments=ReleaseArguments
)
