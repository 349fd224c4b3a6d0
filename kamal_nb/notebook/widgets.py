"""The live widget view of an operation and the confirm button (imports ipywidgets: load lazily).

Worker threads feed each host's ``Output`` with ``append_stdout``/``append_stderr`` (never
``with out:``, whose routing depends on the kernel's parent message). The container's mimebundle
also carries ``text/plain`` and ``text/html`` of the per-host status and output, so a notebook
saved without widget state, exported, or shown on GitHub still reads.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ipywidgets as w

from kamal_nb.fleet import Failed, Finished, HostEvent, Output, Started
from kamal_nb.redaction import redact
from kamal_nb.text_view import FAILED_TAIL, TRUNCATED, step_line, what

TABS_UP_TO = 6  # hosts shown as tabs; more hosts go in an accordion


@dataclass
class HostPanel:
    host: str
    output: Any  # ipywidgets.Output
    progress: Any  # ipywidgets.IntProgress
    badge: Any  # ipywidgets.HTML
    row: Any  # ipywidgets.HBox
    lines: list[str] = field(default_factory=list)
    shown: int = 0
    status: str = "waiting"
    glyph: str = "⏳"
    step: str = ""  # what runs now
    tail: list[str] = field(default_factory=list)  # its output so far (the last lines), for a failure


class LiveBox(w.VBox):  # type: ignore[misc]
    """The view's container: a widget, plus text and HTML for readers without widgets."""

    def __init__(self, view: WidgetView, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kamal_view = view

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        data: dict[str, Any] = super()._repr_mimebundle_(**kwargs)
        data["text/plain"] = self._kamal_view.text()
        data["text/html"] = self._kamal_view.html()
        return data


class WidgetView:
    """One operation's live view: header, a progress row per host, host outputs in tabs."""

    def __init__(
        self, title: str, hosts: Sequence[str] = (), steps: Mapping[str, int] | None = None, *, line_limit: int = 0
    ) -> None:
        self.title = title
        self.line_limit = line_limit
        self._steps = dict(steps or {})
        self._lock = threading.RLock()
        self.panels: dict[str, HostPanel] = {}
        self.header = w.HTML(value=self._header("running"))
        self.rows = w.VBox()
        self.container: Any = w.Tab() if len(hosts) <= TABS_UP_TO else w.Accordion()
        self.box = LiveBox(self, children=[self.header, self.rows, self.container])
        self.state = "running"
        for host in hosts:
            self.panel(host)

    def _header(self, state: str) -> str:
        return f"<b>kamal {html.escape(self.title)}</b> — {html.escape(state)}"

    def panel(self, host: str) -> HostPanel:
        with self._lock:
            panel = self.panels.get(host)
            if panel is not None:
                return panel
            output = w.Output(layout=w.Layout(max_height="24em", overflow="auto"))
            progress = w.IntProgress(value=0, min=0, max=max(1, self._steps.get(host, 1)), description=host)
            badge = w.HTML(value="⏳ waiting")
            row = w.HBox([progress, badge])
            panel = self.panels[host] = HostPanel(host, output, progress, badge, row)
            self.rows.children = (*self.rows.children, row)
            self.container.children = (*self.container.children, output)
            self._retitle()
            return panel

    def _retitle(self) -> None:
        self.container.titles = tuple(f"{p.glyph} {p.host}" for p in self.panels.values())

    def _set_status(self, panel: HostPanel, glyph: str, status: str) -> None:
        panel.glyph, panel.status = glyph, redact(status)
        panel.badge.value = html.escape(f"{glyph} {panel.status}")
        self._retitle()

    def _append(self, panel: HostPanel, text: str, stream: str = "stdout") -> None:
        text = redact(text)
        if self.line_limit and panel.shown >= self.line_limit:
            if panel.shown == self.line_limit:
                panel.output.append_stderr(TRUNCATED + "\n")
                panel.lines.append(TRUNCATED)
                panel.shown += 1
            return
        panel.shown += 1
        panel.lines.append(text)
        if stream == "stderr":
            panel.output.append_stderr(text + "\n")
        else:
            panel.output.append_stdout(text + "\n")

    # -- the subscriber ------------------------------------------------------------------------------

    def __call__(self, event: HostEvent) -> None:
        with self._lock:
            panel = self.panel(event.host)
            if isinstance(event, Started):
                # the same lines as the text view: one per step, the step running now in the badge
                panel.step, panel.tail = what(event.display), []
                self._set_status(panel, "⏳", f"{self._count(panel)} running: {panel.step}")
            elif isinstance(event, Output):
                panel.tail = [*panel.tail, *event.last(FAILED_TAIL)][-FAILED_TAIL:]
            elif isinstance(event, Finished):
                bar = panel.progress
                bar.max = max(bar.max, bar.value + 1)
                bar.value += 1
                self._append(panel, step_line(panel.step, event.exit_code, event.duration, tolerated=event.tolerated))
                if event.failed:
                    for line in panel.tail:
                        self._append(panel, f"  │ {line}", "stderr")
                    bar.bar_style = "danger"
                    self._set_status(panel, "❌", f"failed (exit {event.exit_code}): {panel.step}")
                else:
                    self._set_status(panel, "⏳", f"{self._count(panel)} done")
                panel.tail = []
            elif isinstance(event, Failed):
                self._append(panel, step_line(panel.step, None, 0.0, event.reason), "stderr")
                panel.progress.bar_style = "danger"
                self._set_status(panel, "❌", f"failed: {event.reason}")

    @staticmethod
    def _count(panel: HostPanel) -> str:
        """``3/12``: steps done of those the plan expects on this host."""
        return f"{panel.progress.value}/{panel.progress.max}"

    def finish(self, outcomes: Mapping[str, tuple[bool, str]] | None, state: str) -> None:
        """Final per-host status (host -> (ok, why)) and the operation's state line."""
        with self._lock:
            for host, (ok, why) in (outcomes or {}).items():
                panel = self.panel(host)
                panel.progress.max = max(1, panel.progress.max)
                if ok:
                    panel.progress.value = panel.progress.max
                    panel.progress.bar_style = "success"
                    self._set_status(panel, "✅", "ok")
                else:
                    panel.progress.bar_style = "danger"
                    self._set_status(panel, "❌", f"failed: {why}" if why else "failed")
            for panel in self.panels.values():
                if panel.status in ("waiting", "running"):
                    self._set_status(panel, "⏭", "not run" if panel.status == "waiting" else "interrupted")
            self.state = state
            self.header.value = self._header(state)

    # -- what readers without widgets see --------------------------------------------------------

    def text(self) -> str:
        with self._lock:
            lines = [f"kamal {self.title} — {self.state}"]
            for panel in self.panels.values():
                lines.append(f"{panel.glyph} {panel.host}: {panel.status}")
            return "\n".join(lines)

    def html(self) -> str:
        with self._lock:
            rows = "".join(
                f"<tr><td>{html.escape(p.host)}</td><td>{html.escape(p.glyph + ' ' + p.status)}</td></tr>"
                for p in self.panels.values()
            )
            parts = [
                f"<p>{self._header(self.state)}</p>",
                f"<table><thead><tr><th>host</th><th>status</th></tr></thead><tbody>{rows}</tbody></table>",
            ]
            for p in self.panels.values():
                if p.lines:
                    log = html.escape("\n".join(p.lines))
                    parts.append(f"<details><summary>{html.escape(p.host)}</summary><pre>{log}</pre></details>")
            return "\n".join(parts)


class ConfirmPanel:
    """The plan's confirm button: runs the operation once, then disables itself.

    ``action(panel)`` runs the operation (on the kernel's main thread, from the click handler) and
    returns a one-line outcome shown next to the button; the live view and the result are added to
    ``panel.area`` by the action.
    """

    def __init__(self, label: str, action: Callable[[ConfirmPanel], str], *, danger: bool = True) -> None:
        self.action = action
        self.button = w.Button(
            description=label, button_style="danger" if danger else "warning", icon="play", tooltip="Run it once"
        )
        self.note = w.HTML(value="nothing has run yet")
        self.area = w.VBox()
        self.box = w.VBox([w.HBox([self.button, self.note]), self.area])
        self.runs = 0
        self._lock = threading.Lock()
        self.button.on_click(self._clicked)

    def _clicked(self, _button: Any = None) -> None:
        with self._lock:
            if self.runs or self.button.disabled:
                return
            self.runs += 1
            self.button.disabled = True
        self.button.description = "Running…"
        try:
            outcome = self.action(self)
        except Exception as error:  # shown, not raised: no cell is running to stop
            outcome = f"❌ {type(error).__name__}: {redact(str(error)).splitlines()[0] if str(error) else ''}"
        self.button.description = "Done"
        self.note.value = html.escape(outcome)

    def add(self, widget: Any) -> None:
        self.area.children = (*self.area.children, widget)

    def add_display(self, obj: Any, formatter: Callable[[Any], tuple[dict[str, Any], dict[str, Any]]]) -> None:
        out = w.Output()
        data, metadata = formatter(obj)
        out.outputs = ({"output_type": "display_data", "data": data, "metadata": metadata},)
        self.add(out)
