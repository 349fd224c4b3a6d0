"""Kamal's hooks: local executables in .kamal/hooks, run with the KAMAL_* environment Kamal gives.

Their output goes to the event stream under the host name "local", so every view shows it.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from kamal_nb.commands import Hook
from kamal_nb.engine.context import RunContext as Context
from kamal_nb.engine.errors import OperationError
from kamal_nb.fleet import Finished, Output, Started
from kamal_nb.redaction import Secret, redact

LOCAL = "local"


class HookError(OperationError):
    """A hook exited non-zero: Kamal aborts the command (and releases the lock)."""


def hook_may_run(ctx: Context, hook: str) -> bool:
    """Whether `hook` exists and hooks are not skipped: what it does may change what a host answers."""
    return not ctx.options.skip_hooks and (ctx.session.root / Hook(ctx.config).hook_file(hook)).exists()


def run_hook(
    ctx: Context,
    hook: str,
    *,
    command: str,
    subcommand: str | None = None,
    secrets: bool = False,
    hosts: Sequence[str] | None = None,
    **details: object,
) -> bool:
    """Run `hook` if it exists and hooks are not skipped (-H); True when it ran."""
    if not hook_may_run(ctx, hook):
        return False
    builder = Hook(ctx.config)
    path = ctx.session.root / builder.hook_file(hook)
    tags: dict[str, object] = {
        "hosts": ",".join(hosts if hosts is not None else ctx.selection.hosts),
        "roles": ",".join(ctx.options.roles) if ctx.options.roles else None,
        "lock": str(ctx.holding_lock).lower(),
        "command": command,
        "subcommand": subcommand,
        **details,
    }
    env = builder.env(
        recorded_at=ctx.session.now(),
        performer=ctx.session.performer,
        secrets=secrets,
        **{k: v for k, v in tags.items() if v is not None},
    )
    events = ctx.session.events
    events.publish(Started(LOCAL, 0, f"hook {hook}"))
    started = time.monotonic()
    relative = builder.hook_file(hook)
    if not os.access(path, os.X_OK):
        events.publish(Finished(LOCAL, 0, 126, 0.0))
        raise HookError(f"Hook `{hook}` is not executable: make it so with `chmod +x {relative}`")
    try:
        returncode, stdout, stderr = _run_revealed(path, ctx.session.root, env)
    except OSError as error:  # no `#!` line, an interpreter that is not there...
        events.publish(Finished(LOCAL, 0, 126, time.monotonic() - started))
        # not chained: the OSError's frames (subprocess's) hold the revealed environment
        raise HookError(f"Hook `{hook}` cannot run ({error.strerror}): check the `#!` line of {relative}") from None
    for stream, text in (("stdout", stdout), ("stderr", stderr)):
        for line in text.splitlines():
            events.publish(Output(LOCAL, 0, stream, line))  # type: ignore[arg-type]
    events.publish(Finished(LOCAL, 0, returncode, time.monotonic() - started))
    if returncode != 0:
        output = (stdout + stderr).strip()
        raise HookError(f"Hook `{hook}` failed:\n{output or f'exit status {returncode}'}")
    return True


def _run_revealed(path: Path, cwd: Path, env: Mapping[str, str | Secret]) -> tuple[int, str, str]:
    """Run the hook with the secrets revealed in its environment: its exit status and its output,
    redacted. The revealed values and the raw output live only in this frame (and subprocess's):
    never in a caller's locals, which `%xmode Verbose` and debuggers print."""
    process = subprocess.run(
        [str(path)],
        cwd=cwd,
        env={**os.environ, **{k: v.reveal() if isinstance(v, Secret) else str(v) for k, v in env.items()}},
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        check=False,
    )
    return process.returncode, redact(process.stdout), redact(process.stderr)
