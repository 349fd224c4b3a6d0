"""The deploy lock's release, riding in the last round trip on the primary host.

Kamal releases the lock in a command of its own once the locked steps are done: one more round trip
at the end of every deploy, redeploy, rollback and prune. When the locked steps end with a phase
that runs on the primary (the tag of the new image, the prune), the release goes at the end of the
primary's last round trip instead, and only if everything before it there succeeded (a failing
command ends the round trip first); otherwise, and after an interrupt that came before it ended,
the lock scope releases it on its own as before.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import replace

from kamal_nb.commands import Lock
from kamal_nb.engine.context import RunContext as Context
from kamal_nb.engine.script import Do, Invoke, Item, Phase, Section

RELEASED = "deploy lock released"


class ReleaseRide:
    """Attaches the release to the items' last phase on the primary; `done()` says whether it ran
    there and released the lock (then the lock scope has nothing left to release)."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._released = threading.Event()

    def done(self) -> bool:
        return self._released.is_set()

    def attach(self, items: Sequence[Item]) -> tuple[Item, ...]:
        primary = self.ctx.selection.primary_host
        if primary is None:
            return tuple(items)
        return self._into(tuple(items), str(primary))

    def _into(self, items: tuple[Item, ...], primary: str) -> tuple[Item, ...]:
        if not items:
            return items
        *head, last = items
        if isinstance(last, Invoke):
            inner = self._into(last.script.items, primary)
            if inner is last.script.items:
                return items
            return (*head, replace(last, script=replace(last.script, items=inner)))
        if isinstance(last, Section):
            inner = self._into(last.items, primary)
            return items if inner is last.items else (*head, Section(inner))
        # a phase whose roles run side by side has no single last round trip on a host
        if not isinstance(last, Phase) or last.parallel_roles or not last.steps.get(primary):
            return items
        release = Do(
            Lock(self.ctx.config).release(),
            tolerate=True,  # judged by the lock scope: a failed release there is released again
            capture=RELEASED,
            note="rides in the primary's last round trip",
            on_done=self._ended,
        )
        steps = {**last.steps, primary: (*last.steps[primary], release)}
        return (*head, replace(last, steps=steps))

    def _ended(self, exit_code: int) -> None:
        # set the moment the release ends on the host: an interrupt after it must not release again
        if exit_code == 0:
            self._released.set()
