"""``%kamal watch [state|details] [--every SECONDS] [--for SECONDS]``: a live table of the fleet,
refreshed in place, changed cells highlighted, until the stop button, Ctrl-C or the time limit.

The cell runs while it watches (as a follow does: kamal_nb.notebook.follow), answering the stop
button meanwhile; its value is a :class:`~kamal_nb.state.watch.WatchResult` (every change seen, as a
DataFrame, and the last table).
"""

from __future__ import annotations

import html
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kamal_nb.state.watch import Snapshot, Watcher, WatchResult, render_html, render_text

if TYPE_CHECKING:
    from kamal_nb.cli_tree import Invocation
    from kamal_nb.ops.session import Context


class WatchWidgets:
    def __init__(self, kind: str, every: float) -> None:
        import ipywidgets as w

        self.stopped: str | None = None
        self.header = w.HTML(value=f"<b>kamal watch {html.escape(kind)}</b> — every {every:g}s, starting")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop")
        self.table = w.HTML()
        self.changes = w.HTML()
        self.box = w.VBox([w.HBox([self.header, self.stop_button]), self.table, self.changes])
        self.stop_button.on_click(lambda _button: self._stop())
        self.kind, self.every = kind, every
        self._recent: list[str] = []

    def _stop(self) -> None:
        self.stopped = "stop button"

    def show(self, snapshot: Snapshot) -> None:
        self.header.value = (
            f"<b>kamal watch {html.escape(self.kind)}</b> — every {self.every:g}s, tick {snapshot.number}"
        )
        self.table.value = render_html(snapshot)
        stamp = f"{snapshot.at:%H:%M:%S}"
        self._recent = [*(f"{stamp} {line}" for line in snapshot.change_lines), *self._recent][:20]
        self.changes.value = "<pre>" + html.escape("\n".join(self._recent)) + "</pre>" if self._recent else ""

    def finish(self, result: WatchResult) -> None:
        self.stop_button.disabled = True
        self.header.value = (
            f"<b>kamal watch {html.escape(self.kind)}</b> — stopped ({html.escape(result.stopped_by)}), "
            f"{result.ticks} ticks, {len(result.history)} changes"
        )


def run_watch(
    ctx: Context,
    invocation: Invocation,
    *,
    widgets: bool,
    line_limit: int,
    limit: float | None,
    on_view: Callable[[Any], None] | None = None,
) -> Any:
    from kamal_nb.engine.errors import Refused
    from kamal_nb.notebook.follow import ui_polling

    args = dict(invocation.args)
    kind = str(args.get("what") or "state")
    every = float(args.get("every") or 2.0)
    if every <= 0:
        raise Refused(f"watch --every {every:g}: give a positive number of seconds")
    given = args.get("watch_for")
    limit = float(given) if given not in (None, "") else limit
    watcher = Watcher(ctx, kind)
    view = WatchWidgets(kind, every) if widgets else None
    if view is not None and on_view is not None:
        on_view(view)
    if view is not None:
        from IPython.display import display

        display(view.box)  # type: ignore[no-untyped-call]
    started = time.monotonic()
    stopped_by = "stopped"
    try:
        with ui_polling(view is not None) as poll:
            while True:
                snapshot = watcher.tick()
                if view is not None:
                    view.show(snapshot)
                else:
                    print(
                        render_text(snapshot) if snapshot.number == 1 else "\n".join(snapshot.change_lines) or ".",
                        end="\n",
                    )
                    sys.stdout.flush()
                next_tick = time.monotonic() + every
                while time.monotonic() < next_tick:
                    poll()
                    if view is not None and view.stopped:
                        break
                    if limit is not None and time.monotonic() - started >= limit:
                        break
                    time.sleep(0.05)
                if view is not None and view.stopped:
                    stopped_by = view.stopped
                    break
                if limit is not None and time.monotonic() - started >= limit:
                    stopped_by = f"time limit ({limit:g}s)"
                    break
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    result = watcher.result(stopped_by)
    if view is not None:
        view.finish(result)
    return result
