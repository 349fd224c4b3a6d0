"""The widget view takes an Output event's lines at once: a failing step shows the last lines of its
output, whole, however many lines each event carried."""

from __future__ import annotations

from kamal_nb.fleet import Finished, Output, Started
from kamal_nb.notebook.widgets import WidgetView
from kamal_nb.text_view import FAILED_TAIL


def test_a_failing_step_shows_the_last_lines_of_events_of_many_lines() -> None:
    view = WidgetView("server exec", ["web-1"])
    view(Started("web-1", 0, "yes | head"))
    view(Output("web-1", 0, "stdout", "\n".join(f"y {n}" for n in range(5000))))
    view(Output("web-1", 0, "stdout", "almost\nlast"))
    view(Finished("web-1", 0, 1, 0.5))
    shown = [o["text"] for o in view.panels["web-1"].output.outputs]
    tail = [text for text in shown if "│" in text]
    assert len(tail) == FAILED_TAIL
    assert tail[0] == f"  │ y {5000 - FAILED_TAIL + 2}\n" and tail[-2:] == ["  │ almost\n", "  │ last\n"]


def test_a_tolerated_exit_is_a_done_step_not_a_failure() -> None:
    """`docker network create kamal` when the network exists, `lock status` with no lock: Kamal ignores
    the exit; the host's tab says so and stays green."""
    view = WidgetView("setup", ["web-1"])
    view(Started("web-1", 0, "docker network create kamal"))
    view(Output("web-1", 0, "stderr", "Error response from daemon: network with name kamal already exists"))
    view(Finished("web-1", 0, 1, 0.1, tolerated=True))
    panel = view.panels["web-1"]
    shown = [o["text"] for o in panel.output.outputs]
    assert shown == ["ok      0.10s  docker network create kamal (exit 1, expected)\n"], shown
    assert panel.progress.bar_style != "danger"
