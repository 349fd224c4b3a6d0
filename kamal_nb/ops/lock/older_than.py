"""``lock release --older-than AGE`` (kamal_nb): free a stuck deploy lock only when it is older than
AGE, saying who holds it (and since when, and why) before anything is released.

Kamal's ``lock release`` frees whatever lock there is. In an incident the lock may belong to a deploy
still running somewhere; the age guard makes "release it if it is stale" one command that cannot
free a fresh lock by mistake. Without ``--older-than`` the release is Kamal's, unchanged. The
release itself is kamal_nb.ops.lock.deploy_lock's; this module only reads and words ages.
"""

from __future__ import annotations

import datetime
import re

from kamal_nb.engine.errors import Refused

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
_AGE = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")


def parse_age(text: str) -> datetime.timedelta:
    """``90s``, ``30m``, ``2h``, ``1d`` or plain seconds."""
    match = _AGE.match(text.strip())
    if match is None:
        raise Refused(f"lock release --older-than {text!r}: give an age such as 90s, 30m, 2h or 1d")
    number, unit = match.groups()
    return datetime.timedelta(seconds=float(number) * _UNITS[unit or "s"])


def age_of(locked_at_text: str, now: datetime.datetime) -> datetime.timedelta | None:
    """How long the lock has been held (None when its details carry no readable time)."""
    try:
        locked_at = datetime.datetime.fromisoformat(locked_at_text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if locked_at.tzinfo is None:
        locked_at = locked_at.replace(tzinfo=datetime.UTC)
    return now - locked_at


def describe(holder: str, locked_at: str, message: str, age: datetime.timedelta | None) -> str:
    held = f"held for {format_age(age)}" if age is not None else "held since an unreadable time"
    return f"deploy lock {held} by {holder or '?'} (since {locked_at or '?'}): {message or '?'}"


def format_age(age: datetime.timedelta) -> str:
    seconds = int(age.total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds % 3600 == 0:
        return f"{seconds // 3600}h"
    if seconds < 7200:
        return f"{seconds // 60}m"
    return f"{seconds // 3600}h{(seconds % 3600) // 60:02d}m"
