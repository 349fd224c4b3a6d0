"""Run a command on this machine as Kamal's ``run_locally { execute ... }`` does: through the shell,
in the project directory, its output streamed line by line as host events of the host "local", so
the command line and the notebook views show it live as they show a host's output."""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Mapping
from typing import IO, Literal

from kamal_nb.commands import Command
from kamal_nb.engine.hooks import LOCAL
from kamal_nb.fleet import CommandResult, Finished, Output, Started
from kamal_nb.ops.script import local_env
from kamal_nb.ops.session import Context
from kamal_nb.redaction import redact


def run_local(
    ctx: Context, command: Command | str, *, env: Mapping[str, str] | None = None, index: int = 0
) -> CommandResult:
    """Run ``command`` (its wire form) with ``env`` added to the environment; never raises for a
    failing command (its exit code says it), 127 when the shell itself cannot start."""
    events = ctx.session.events
    wire = command.wire() if isinstance(command, Command) else command
    display = redact(str(command))
    events.publish(Started(LOCAL, index, display))
    started, wall = time.monotonic(), time.time()
    out: list[str] = []
    err: list[str] = []
    try:
        process = subprocess.Popen(
            ["/bin/sh", "-c", wire],
            cwd=ctx.session.root,
            env={**local_env(ctx), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            errors="replace",
        )
    except OSError as error:
        code = 127
        err.append(redact(str(error)) + "\n")
    else:
        assert process.stdout is not None and process.stderr is not None
        readers = [
            threading.Thread(target=_pump, args=(ctx, process.stdout, "stdout", out, index), daemon=True),
            threading.Thread(target=_pump, args=(ctx, process.stderr, "stderr", err, index), daemon=True),
        ]
        for reader in readers:
            reader.start()
        code = process.wait()
        for reader in readers:
            reader.join()
    duration = time.monotonic() - started
    events.publish(Finished(LOCAL, index, code, duration))
    return CommandResult(LOCAL, display, code, "".join(out), "".join(err), duration, wall)


def _pump(ctx: Context, stream: IO[str], name: Literal["stdout", "stderr"], into: list[str], index: int) -> None:
    for line in stream:
        line = redact(line)
        into.append(line)
        ctx.session.events.publish(Output(LOCAL, index, name, line.rstrip("\n")))
