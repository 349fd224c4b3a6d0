"""The audit line Kamal appends on a host before each change."""

from __future__ import annotations

from kamal_nb.commands import Auditor, Command
from kamal_nb.ops.session import Context


def audit(ctx: Context, line: str, **details: object) -> Command:
    """`mkdir -p .kamal && echo "[time] [performer] [destination] [details…] line" >> .kamal/<svc>-audit.log`."""
    return Auditor(ctx.config, recorded_at=ctx.session.now(), performer=ctx.session.performer, **details).record(line)
