"""The live view of a follow (``%kamal app logs -f``, ``%kamal server exec --stream …``).

The cell runs while the streams run, so that Ctrl-C (interrupt the kernel) stops it and Run All and
papermill wait for it; the stop button is answered meanwhile by polling the notebook's UI events
(jupyter-ui-poll, when installed). Either way the channels are closed on the hosts and the cell's
value is the :class:`~kamal_nb.ops.follow.FollowResult` (the last lines as a DataFrame).

With widgets: a header, a grep filter (a regular expression, applied to what is shown only), a
switch between one pane per host and all hosts interleaved, a stop button; the last ``line_limit``
lines are shown. Without widgets (terminal IPython, ``KamalMagics.widgets = 'off'``): ``host | line``.
"""

from __future__ import annotations

import html
import re
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, TextIO

from kamal_nb.ops.follow import Follow, FollowResult, StreamLine, wait_and_stop

if TYPE_CHECKING:
    from kamal_nb.cli_tree import Invocation
    from kamal_nb.ops.session import Context

REDRAW_EVERY = 0.25  # seconds between redraws of the widget view


class FollowWidgets:
    """Header, filter, mode switch, stop button, and the lines (per host in tabs, or interleaved)."""

    def __init__(self, follow: Follow, *, line_limit: int = 500) -> None:
        import ipywidgets as w

        self.follow = follow
        self.line_limit = line_limit or 500
        self._lines: deque[StreamLine] = deque(maxlen=self.line_limit * max(1, len(follow.labels)))
        self._lock = threading.Lock()
        self._dirty = True
        self._count = 0
        self._last_draw = 0.0
        self.header = w.HTML()
        self.filter = w.Text(
            placeholder="filter: a regular expression", description="grep", layout=w.Layout(width="24em")
        )
        self.mode = w.ToggleButtons(options=["per host", "interleaved"], value="per host")
        self.stop_button = w.Button(description="Stop", button_style="danger", icon="stop")
        self.panes = {label: w.HTML() for label in follow.labels}
        self.tabs = w.Tab(children=list(self.panes.values()), titles=tuple(follow.labels))
        self.interleaved = w.HTML(layout=w.Layout(display="none"))
        self.box = w.VBox(
            [self.header, w.HBox([self.filter, self.mode, self.stop_button]), self.tabs, self.interleaved]
        )
        self.stop_button.on_click(lambda _button: follow.request_stop("stop button"))
        self.filter.observe(lambda _change: self._mark(), names="value")
        self.mode.observe(lambda _change: self._switch(), names="value")
        follow.subscribe(self._add)
        self.redraw(force=True)

    def _add(self, line: StreamLine) -> None:
        with self._lock:
            self._lines.append(line)
            self._count += 1
            self._dirty = True

    def _mark(self) -> None:
        self._dirty = True
        self.redraw(force=True)

    def _switch(self) -> None:
        per_host = self.mode.value == "per host"
        self.tabs.layout.display = None if per_host else "none"
        self.interleaved.layout.display = "none" if per_host else None
        self._mark()

    def _pattern(self) -> re.Pattern[str] | None:
        try:
            return re.compile(self.filter.value) if self.filter.value else None
        except re.error:
            return None  # a half-typed expression shows everything until it is whole

    def redraw(self, *, force: bool = False, state: str | None = None) -> None:
        now = time.monotonic()
        if not force and (not self._dirty or now - self._last_draw < REDRAW_EVERY):
            return
        self._last_draw, self._dirty = now, False
        with self._lock:
            lines, count = list(self._lines), self._count
        pattern = self._pattern()
        shown = [x for x in lines if pattern is None or pattern.search(x.line)]
        status = state or ("stopping" if self.follow.stopped_by else "following")
        hosts = ", ".join(self.follow.labels)
        self.header.value = (
            f"<b>kamal {html.escape(self.follow.name)}</b> on {html.escape(hosts)} — {html.escape(status)}, "
            f"{count} line{'' if count == 1 else 's'}"
        )
        if self.mode.value == "per host":
            for label, pane in self.panes.items():
                mine = [x for x in shown if x.host == label][-self.line_limit :]
                pane.value = _pre(f"{_time(x)} {x.line}" for x in mine)
        else:
            self.interleaved.value = _pre(f"{x.host} | {_time(x)} {x.line}" for x in shown[-self.line_limit :])

    def finish(self, result: FollowResult) -> None:
        self.stop_button.disabled = True
        self.redraw(force=True, state=f"stopped: {result.stopped_by}")


class FollowText:
    """``host | line`` printed from the waiting loop (the cell's own thread, so output lands in it)."""

    def __init__(self, follow: Follow, out: TextIO | None = None, *, labels: bool = True) -> None:
        self.out = out
        self.labels = labels
        self._pending: deque[StreamLine] = deque()
        self._lock = threading.Lock()
        follow.subscribe(self._add)

    def _add(self, line: StreamLine) -> None:
        with self._lock:
            self._pending.append(line)

    def redraw(self) -> None:
        with self._lock:
            lines, self._pending = list(self._pending), deque()
        out = self.out or sys.stdout
        for x in lines:
            out.write((f"{x.host} | {x.line}" if self.labels else x.line) + "\n")
        if lines:
            out.flush()


def _time(line: StreamLine) -> str:
    return line.time.strftime("%H:%M:%S")


def _pre(lines: Iterator[str] | Any) -> str:
    body = "\n".join(html.escape(line) for line in lines)
    return f'<pre style="max-height:24em;overflow:auto;margin:0">{body}</pre>'


@contextmanager
def ui_polling(enabled: bool) -> Iterator[Callable[[], None]]:
    """A function that lets the kernel answer widget events (the stop button) while the cell runs."""
    kernel = None
    if enabled:
        from IPython import get_ipython

        # only a kernel has UI events to answer (an in-process or terminal shell has none)
        kernel = getattr(get_ipython(), "kernel", None)
    if kernel is not None and not hasattr(kernel, "do_one_iteration"):
        # ipykernel 7: jupyter-ui-poll would silently do nothing (kamal_nb.notebook.ui_poll)
        from kamal_nb.notebook.ui_poll import shell_messages_poller

        with shell_messages_poller(kernel) as poll_shell:
            yield poll_shell or (lambda: None)
        return
    if kernel is not None:
        try:
            from jupyter_ui_poll import ui_events
        except ImportError:
            kernel = None
    if kernel is None:
        yield lambda: None
        return
    with ui_events() as poll:
        yield lambda: poll(20)


def _wait(follow: Follow, limit: float | None, redraw: Callable[[], None], *, poll_ui: bool) -> FollowResult:
    with ui_polling(poll_ui) as poll:

        def between() -> None:
            poll()
            redraw()

        result = wait_and_stop(follow, limit, between)
    redraw()
    return result


def run_follow(
    ctx: Context,
    invocation: Invocation,
    *,
    widgets: bool,
    line_limit: int,
    limit: float | None,
    on_view: Callable[[Any], None] | None = None,
) -> Any:
    """``%kamal … -f`` / ``--stream``: start, show live, wait, stop; the result."""
    from IPython.display import display

    from kamal_nb.ops.follow import DEFAULT_KEEP, start_follow

    args = dict(invocation.args)
    keep = int(args.get("keep") or DEFAULT_KEEP)
    given = args.get("follow_for")
    limit = float(given) if given not in (None, "") else limit
    follow = start_follow(ctx, invocation.path, args, keep=keep)
    if widgets:
        view = FollowWidgets(follow, line_limit=line_limit)
        if on_view is not None:
            on_view(view)
        display(view.box)  # type: ignore[no-untyped-call]
        result = _wait(follow, limit, view.redraw, poll_ui=True)
        view.finish(result)
        return result
    text = FollowText(follow)
    return _wait(follow, limit, text.redraw, poll_ui=False)
