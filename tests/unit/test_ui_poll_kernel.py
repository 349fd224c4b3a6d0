"""The Stop button of a follow or a watch, answered while its cell runs, in a real ipykernel (no
browser: the widget's click is sent as the frontend sends it, a comm_msg on the shell channel).

ipykernel 7 has no ``do_one_iteration``, so jupyter-ui-poll 1.1 does nothing there: kamal_nb's own
poller (kamal_nb/notebook/ui_poll.py) reads the kernel's shell messages. The cells queued behind the
running one (Run All) still run after it, in their order. The same in JupyterLab and Chromium:
tests/browser/test_live_browser.py."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.slow

WAIT_FOR_STOP = (
    "start = time.monotonic()\n"
    "with ui_polling(True) as poll:\n"
    "    while not stopped and time.monotonic() - start < 20:\n"
    "        poll(); time.sleep(0.05)\n"
    "print('ended after', round(time.monotonic() - start, 1), 'stopped', bool(stopped))"
)


@pytest.fixture
def kernel(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    pytest.importorskip("ipykernel")
    from jupyter_client.manager import start_new_kernel

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def _run(client: Any, code: str, timeout: float = 30) -> str:
    msg_id = client.execute(code)
    out: list[str] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        msg = client.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        if msg["msg_type"] == "stream":
            out.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            out.append("\n".join(msg["content"]["traceback"]))
        elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return "".join(out)
    raise AssertionError(f"the cell did not end in {timeout}s: {code!r}")


def test_the_stop_button_is_answered_while_the_cell_runs_and_queued_cells_keep_their_order(kernel: Any) -> None:
    comm_id = _run(
        kernel,
        "import time, ipywidgets\n"
        "from kamal_nb.notebook.follow import ui_polling\n"
        "stopped = []\n"
        "button = ipywidgets.Button(description='Stop')\n"
        "button.on_click(lambda _b: stopped.append(time.monotonic()))\n"
        "print(button.comm.comm_id)",
    ).strip()
    running = kernel.execute(WAIT_FOR_STOP)
    queued = [kernel.execute(f"print('queued {n}')") for n in range(3)]  # Run All sends them all at once
    time.sleep(1.5)
    click = kernel.session.msg(
        "comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": {"event": "click"}}}
    )
    kernel.shell_channel.send(click)
    clicked = time.monotonic()
    order: list[str] = []
    ended_after = None
    deadline = clicked + 30
    while len(order) < 4 and time.monotonic() < deadline:
        msg = kernel.get_iopub_msg(timeout=30)
        parent = msg["parent_header"].get("msg_id")
        if msg["msg_type"] == "stream" and parent == running:
            ended_after = time.monotonic() - clicked
            assert "stopped True" in msg["content"]["text"], msg["content"]["text"]
        if msg["msg_type"] == "execute_input" and parent in (running, *queued):
            order.append("running" if parent == running else f"queued {queued.index(parent)}")
    assert ended_after is not None and ended_after < 5, "the click ended the running cell at once"
    assert order == ["running", "queued 0", "queued 1", "queued 2"]
    assert _run(kernel, "print(len(stopped))").strip() == "1"
