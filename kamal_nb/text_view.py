"""The plain-text live view of an operation, fed by the session's host events while it runs.

:class:`TextView` prints ``[host] line``: the ``kamal-nb`` script, terminal IPython, notebooks with
widgets off. It sits below both views (the command line and the notebook), which share it;
:class:`kamal_nb.notebook.widgets.WidgetView` is the notebook's widget counterpart.

Both are event subscribers: called from the transport's worker threads, quick and thread-safe.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from typing import TextIO

from kamal_nb.fleet import Failed, Finished, HostEvent, Output, Started
from kamal_nb.redaction import redact

Subscriber = Callable[[HostEvent], None]
TRUNCATED = "… (more output: see the result object)"


class TextView:
    """Host events as plain text lines, ``[host] ...``; ``quiet`` prints nothing."""

    def __init__(
        self, out: TextIO | None = None, *, quiet: bool = False, verbose: bool = False, line_limit: int = 0
    ) -> None:
        self.out = out
        self.quiet = quiet
        self.verbose = verbose
        self.line_limit = line_limit
        self._lines: dict[str, int] = {}
        self._lock = threading.Lock()

    def __call__(self, event: HostEvent) -> None:
        if self.quiet:
            return
        text = self.render(event)
        if text is None:
            return
        with self._lock:
            count = self._lines.get(event.host, 0) + 1
            self._lines[event.host] = count
            if self.line_limit and count > self.line_limit:
                if count == self.line_limit + 1:
                    text = f"[{event.host}] {TRUNCATED}"
                else:
                    return
            out = self.out or sys.stdout
            out.write(redact(text) + "\n")
            out.flush()

    def render(self, event: HostEvent) -> str | None:
        if isinstance(event, Started):
            return f"[{event.host}] $ {event.display}"
        if isinstance(event, Output):
            return f"[{event.host}] {event.line}"
        if isinstance(event, Finished):
            if event.exit_code != 0:
                return f"[{event.host}] exit {event.exit_code} ({event.duration:.1f}s)"
            return f"[{event.host}] ok ({event.duration:.1f}s)" if self.verbose else None
        if isinstance(event, Failed):
            return f"[{event.host}] FAILED: {event.reason}"
        return None  # pragma: no cover
