"""Errors the magics raise after showing what happened: short to read, and they stop Run All.

IPython prints an exception's ``_render_traceback_()`` lines instead of the Python traceback, so
a failed deploy reads as ``KamalOperationFailed: kamal deploy failed on 1 of 3 hosts`` plus one line
per failed host, while nbclient and papermill still see an error and stop the notebook.
"""

from __future__ import annotations

from typing import Any

from kamal_nb.redaction import redact


class KamalError(Exception):
    """An operational error (bad deploy.yml, a lock held...), shown without a Python traceback."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class KamalOperationFailed(KamalError):
    """The operation ran and failed on some hosts; ``.result`` is its OperationResult."""

    def __init__(self, result: Any) -> None:
        self.result = result
        hosts = result.hosts
        failed = hosts.failed
        from kamal_nb.engine.result import failed_hosts_lines
        from kamal_nb.engine.result_view import lost_note

        lines = [f"kamal {result.operation} failed on {len(failed)} of {len(hosts)} hosts{lost_note(hosts)}"]
        lines += failed_hosts_lines(hosts)
        if result.ok:  # an operation may fail without a failed host (its own check)
            lines = [f"kamal {result.operation} failed"]
        super().__init__("\n".join(lines))

    def _render_traceback_(self) -> list[str]:
        first, *rest = str(self).splitlines()
        return [f"{type(self).__name__}: {first}", *rest]
