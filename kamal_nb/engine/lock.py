"""The deploy lock, exactly as Kamal takes it: a directory with a base64 details file on the primary
host. A lock taken by the real Kamal is seen here, and the other way round.

`holding` is the one lock scope: every operation that takes the lock takes it there (the engine's
runner does, for a script that asks for it), and only there is `ctx.holding_lock` set.

    with holding(ctx, rec):          # around a mutating operation's steps
        ...
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace

from kamal_nb.commands import Command, Lock, Server
from kamal_nb.commands.lock import AUTOMATIC_MESSAGE
from kamal_nb.engine.context import RunContext as Context
from kamal_nb.engine.errors import OperationError
from kamal_nb.engine.record import Recorder
from kamal_nb.engine.trips import tolerated
from kamal_nb.fleet import GroupResult


class LockError(OperationError):
    """The deploy lock could not be taken (or waited for); the message says who holds it."""

    def __init__(self, message: str, holder: LockStatus | None = None) -> None:
        self.holder = holder
        super().__init__(message + (f"\n{holder.text}" if holder else ""))


@dataclass(frozen=True)
class LockStatus:
    """The details file of a held lock: `Locked by: NAME at TIME / Version: V / Message: M`; or a
    broken lock (`broken`): the directory is there but its details file is missing, empty or
    unreadable (an acquire cut short, e.g. by a full disk), and nobody is named as its holder."""

    text: str
    holder: str
    locked_at: str
    version: str
    message: str
    broken: bool = False
    age_seconds: int | None = None  # a broken lock's: the age of its directory

    @staticmethod
    def names_a_holder(text: str) -> bool:
        """Whether decoded details are a lock's (Kamal always writes `Locked by: ...` first)."""
        return any(line.startswith("Locked by: ") for line in text.split("\n"))

    @property
    def being_taken(self) -> bool:
        """A broken lock younger than `TAKING_SECONDS`: most likely an acquire between its `mkdir`
        and the write of its details (another deploy starting), not a half-made lock."""
        return self.broken and self.age_seconds is not None and self.age_seconds < TAKING_SECONDS

    @classmethod
    def broken_lock(cls, lock_dir: str, age_seconds: int | None) -> LockStatus:
        age = f"made {_format_seconds(age_seconds)} ago" if age_seconds is not None else "of unknown age"
        if age_seconds is not None and age_seconds < TAKING_SECONDS:
            text = (
                f"Deploy lock being taken: {lock_dir} was {age} and its details file is not written yet "
                "(another deploy is probably starting); if it stays so, it is a broken lock: `kamal lock status`"
            )
            return cls(text, "", "", "", "", broken=True, age_seconds=age_seconds)
        text = (
            f"Broken deploy lock: {lock_dir} exists but its details file is missing, empty or unreadable "
            f"({age}; a lock acquire cut short, e.g. by a full disk). Nobody holds it: if no deploy is running, "
            "clear it with `kamal lock release`"
        )
        return cls(text, "", "", "", "", broken=True, age_seconds=age_seconds)

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
        return cls(text.strip("\n"), fields["holder"], fields["locked_at"], fields["version"], fields["message"])


TAKING_SECONDS = 30  # an acquire's mkdir and details write come in one command: far less apart


def _format_seconds(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h {seconds % 3600 // 60}m"
    return f"{seconds // 86400}d {seconds % 86400 // 3600}h"


def lock_state(lock: Lock, code: int, out: str, err: str) -> str:
    """What `Lock.status()` answered: "held", "none", "broken" (the directory is there, its details
    are not a lock's) or "error" (the directory could not be read)."""
    if code == 0:
        return "held" if LockStatus.names_a_holder(out) else "broken"
    # `stat DIR && cat DIR/details | base64 -d`: once the stat passed, a failure is the details'
    if lock.lock_details_file in err or "base64" in err:
        return "broken"
    return "none" if "No such file or directory" in err else "error"


def directory_age(out: str) -> int | None:
    """The age in seconds from `Lock.directory_age()`'s answer (host time, then directory time)."""
    try:
        now, made = (int(line) for line in out.split())
    except ValueError:
        return None
    return max(0, now - made)


def _primary(ctx: Context) -> str:
    host = ctx.selection.primary_host
    if host is None:
        raise LockError("no primary host to hold the deploy lock (the primary role has no hosts)")
    return str(host)


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
    lock = _lock(ctx)
    result = ctx.runner.run({host: [lock.status()]})
    code, out, err = _single(result, host)
    state = lock_state(lock, code, out, err)
    if state == "held":
        return LockStatus.parse(out), result
    if state == "none":
        return None, _no_lock_is_an_answer(result, host)
    if state == "broken":
        age = ctx.runner.run({host: [lock.directory_age()]})[host]
        answered = age.error is None and age.commands and age.commands[-1].exit_code == 0
        seconds = directory_age(age.commands[-1].stdout) if answered else None
        return LockStatus.broken_lock(lock.lock_dir, seconds), _no_lock_is_an_answer(result, host)
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
            if holder is not None and holder.broken:
                if not holder.being_taken:  # a half-made lock: nobody will release it
                    raise LockError("Deploy lock found. Run 'kamal lock help' for more information", holder)
            # a lock somebody took by hand is not going away by itself: do not wait for it
            elif holder is not None and AUTOMATIC_MESSAGE not in holder.text:
                raise LockError(
                    "Deploy lock held manually, not waiting. Run 'kamal lock help' for more information", holder
                )
            # a lock being taken is looked at again on the next try, once its details are written
            checked_holder = holder is None or not holder.broken
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
def holding(
    ctx: Context,
    rec: Recorder | None = None,
    *,
    ensure_run_directory: bool = True,
    acquired: bool = False,
    released: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """Hold the deploy lock around a mutating operation; released on failure and on Ctrl-C too.

    Re-entrant: inside another locked operation (or in a hook run with KAMAL_LOCK=true, as Kamal
    sets for hooks) it does nothing. `ensure_run_directory=False` skips `mkdir -p .kamal` on every
    host when the caller has just run it (a deploy's pull does, in the same round trip).
    `acquired=True`: the caller has just taken it (`automatic_acquire`, sent with other commands).
    `released()`: whether the steps released it themselves (it rode in their last round trip).
    """
    if lock_held_elsewhere(ctx):
        yield
        return
    if not acquired:
        _acquire_automatic(ctx, ensure_run_directory)
    ctx.holding_lock = True
    if rec is not None:
        rec.lock_taken = True
    try:
        yield
    finally:
        ctx.holding_lock = False
        if released is not None and released():
            if rec is not None:
                rec.lock_released = True
        else:
            release_held(ctx, rec)


# After an interrupt the lock's release gets this long: a primary that does not answer must not
# keep the process from stopping (the release goes on in the background while the process lives).
INTERRUPTED_RELEASE_WAIT = 2.5


def _release_within(ctx: Context, seconds: float) -> None:
    import threading

    outcome: list[BaseException | None] = []

    def release() -> None:
        try:
            release_lock(ctx)
            outcome.append(None)
        except Exception as error:
            outcome.append(error)

    worker = threading.Thread(target=release, name="kamal-nb-release", daemon=True)
    worker.start()
    worker.join(seconds)
    if not outcome:
        raise LockError(f"deploy lock on {_primary(ctx)}: no answer within {seconds:g}s of the interrupt")
    if outcome[0] is not None:
        raise outcome[0]


def _primary_lost(ctx: Context) -> str | None:
    """Why the primary was declared lost by the SSH liveness rule during this run (None: it was not)."""
    primary = ctx.selection.primary_host
    lost = getattr(getattr(ctx.runner, "pool", None), "lost", None)  # SSH pools say; others cannot lose a host
    return lost(str(primary)) if lost is not None and primary is not None else None


def release_held(ctx: Context, rec: Recorder | None) -> None:
    """Release the lock this operation took. A failure to release it (the primary lost, say) is
    added to the operation's record (a message, and the primary's failure), never raised over the
    per-host report; without a record it is raised, as a note on the error under way if any."""
    import sys

    under_way = sys.exc_info()[1]  # the error ending the operation, if one is
    try:
        lost = _primary_lost(ctx)
        if lost is not None:  # not worth a connect timeout (nor holding up an interrupt) to find out
            raise LockError(f"deploy lock on {_primary(ctx)}: {lost}")
        if rec is not None and rec.cancelled.is_set():
            _release_within(ctx, INTERRUPTED_RELEASE_WAIT)
        else:
            release_lock(ctx)
    except Exception as error:  # a LockError, or the primary unreachable
        problem = f"the deploy lock could not be released: {error}"
        if rec is not None:
            rec.lock_released = False
            rec.say(problem + " (run `kamal lock release` once the primary answers)")
            primary = ctx.selection.primary_host
            if primary is not None:
                rec.fail(str(primary), problem)
            return
        if under_way is not None:
            under_way.add_note(problem)
            return
        raise
    if rec is not None:
        rec.lock_released = True
