"""A local run log: one JSON line per mutating command (who, when, destination, hosts, command,
per-host status and exit codes, duration), appended whether it succeeded, failed or was interrupted
(an interrupted run with what each host had done by then).

It lives in $XDG_STATE_HOME/kamal_nb/runs.jsonl (~/.local/state/...), or where
KAMAL_NB_RUN_LOG points. Secrets never reach it: command texts and reasons are redacted.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kamal_nb.engine.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.redaction import redact

_lock = threading.Lock()


def run_log_path() -> Path:
    explicit = os.environ.get("KAMAL_NB_RUN_LOG")
    if explicit:
        return Path(explicit).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path("~/.local/state").expanduser())
    return Path(state) / "kamal_nb" / "runs.jsonl"


def record_run(
    ctx: Context,
    path: tuple[str, ...],
    args: Mapping[str, Any],
    *,
    started: str,
    duration: float,
    result: OperationResult | None = None,
    error: BaseException | None = None,
) -> None:
    """Append the run's line; a run log that cannot be written never fails the operation."""
    hosts: dict[str, Any] = {}
    # an interrupted run carries what each host had done by then: the log keeps that account too
    account = result if result is not None else getattr(error, "result", None)
    if isinstance(account, OperationResult):
        for host, host_result in account.hosts.items():
            last = host_result.commands[-1].exit_code if host_result.commands else None
            hosts[host] = {
                "status": host_result.status,
                "ok": host_result.ok,
                "exit_code": last,
                "failure": host_result.failure,
            }
    entry = {
        "recorded_at": started,
        "performer": ctx.session.performer,
        "project": str(ctx.session.root),
        "destination": ctx.options.destination,
        "command": " ".join(path),
        "args": {k: v for k, v in args.items() if v not in (None, False, (), [])},
        "roles": list(ctx.options.roles),
        "hosts_filter": list(ctx.options.hosts),
        "hosts": hosts,
        "status": _status(result, error),
        "error": f"{type(error).__name__}: {error}" if error is not None else None,
        "duration_s": round(duration, 3),
    }
    line = redact(json.dumps(entry, default=str, ensure_ascii=False))
    target = run_log_path()
    try:
        with _lock:
            # private to the user: the log names hosts, commands and who ran them
            target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            descriptor = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            _make_private(descriptor, target.parent)
            with os.fdopen(descriptor, "a", encoding="utf-8") as log:
                log.write(line + "\n")
    except OSError:
        pass


def _status(result: OperationResult | None, error: BaseException | None) -> str:
    if isinstance(error, KeyboardInterrupt):  # OperationInterrupted is one (and SIGTERM's)
        return "interrupted"
    return "ok" if error is None and result is not None and result.ok else "failed"


def _make_private(descriptor: int, folder: Path) -> None:
    """A log an earlier kamal_nb left 0644 in a 0755 folder is made private too (the folder only
    when it is kamal_nb's own, never a folder KAMAL_NB_RUN_LOG merely points into)."""
    try:
        if os.fstat(descriptor).st_mode & 0o077:
            os.fchmod(descriptor, 0o600)
        if folder.name == "kamal_nb" and folder.stat().st_mode & 0o077:
            folder.chmod(0o700)
    except OSError:
        pass  # not ours to change (another owner): writing the line still matters more
