"""``lock release --older-than AGE`` (kamal_nb): free a stuck deploy lock only when it is older than
AGE, saying who holds it (and since when, and why) before anything is released.

Kamal's ``lock release`` frees whatever lock there is. In an incident the lock may belong to a deploy
still running somewhere; the age guard makes "release it if it is stale" one command that cannot
free a fresh lock by mistake. Without ``--older-than`` the release is Kamal's, unchanged. This
module wraps the ``lock release`` operation of kamal_nb.ops.lock in the catalog.
"""

from __future__ import annotations

import datetime
import re
import time

from kamal_nb.ops.catalog import _CATALOG, Args, Operation, register
from kamal_nb.ops.errors import Refused
from kamal_nb.ops.lock import LockStatus, read_status, release_result
from kamal_nb.ops.plan import Plan
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")


def parse_age(text: str) -> datetime.timedelta:
    """``90s``, ``30m``, ``2h``, ``1d`` or plain seconds."""
    match = _AGE.match(text.strip())
    if match is None:
        raise Refused(f"lock release --older-than {text!r}: give an age such as 90s, 30m, 2h or 1d")
    number, unit = match.groups()
    return datetime.timedelta(seconds=float(number) * _UNITS[unit or "s"])


def age_of(status: LockStatus, now: datetime.datetime) -> datetime.timedelta | None:
    """How long the lock has been held (None when its details carry no readable time)."""
    try:
        locked_at = datetime.datetime.fromisoformat(status.locked_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if locked_at.tzinfo is None:
        locked_at = locked_at.replace(tzinfo=datetime.UTC)
    return now - locked_at


def describe(status: LockStatus, age: datetime.timedelta | None) -> str:
    held = f"held for {_format(age)}" if age is not None else "held since an unreadable time"
    return f"deploy lock {held} by {status.holder or '?'} (since {status.locked_at or '?'}): {status.message or '?'}"


def _format(age: datetime.timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"


def _wrap(original: Operation) -> None:
    def plan(ctx: Context, args: Args) -> Plan:
        base = original.plan(ctx, args)
        given = args.get("older_than")
        if not given:
            return base
        limit = parse_age(str(given))
        note = f"released only if the lock is older than {_format(limit)}; who holds it is shown first"
        return Plan(base.operation, base.steps, (*base.notes, note))

    def run(ctx: Context, args: Args) -> OperationResult:
        given = args.get("older_than")
        if not given:
            return original.run(ctx, args)
        limit = parse_age(str(given))
        started = time.monotonic()
        status = read_status(ctx)
        if status is None:
            return original.run(ctx, args)  # "There is no deploy lock", as Kamal says it
        age = age_of(status, ctx.session.clock())
        held = describe(status, age)
        if age is None or age < limit:
            raise Refused(f"{held}; not released: it is not older than {_format(limit)} (--older-than)")
        released, result = release_result(ctx)
        said = "Released the deploy lock" if released else "There is no deploy lock"
        return OperationResult("lock release", result, time.monotonic() - started, status, (held, said))

    register(
        original.path,
        original.summary,
        mutating=original.mutating,
        plan=plan,
        run=run,
        mutating_when=original.mutating_when,
        local=original.local,
    )


# kamal_nb.ops.lock registered it on import (above); catalog() imports this module right after that one
_wrap(_CATALOG[("lock", "release")])
