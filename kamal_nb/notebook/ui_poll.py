"""Widget events answered while a cell runs, on ipykernel 7 (jupyter-ui-poll covers ipykernel 6).

A follow or a watch keeps its cell running, so the kernel's event loop does not read the shell
messages meanwhile: a click on the Stop button would wait until the cell ended by itself.
jupyter-ui-poll reads them through ``kernel.do_one_iteration()``, which ipykernel 7 no longer has
(there, jupyter-ui-poll 1.1 silently does nothing and the button never answers).

On ipykernel 7 the shell channel thread hands the main thread its messages on an inproc socket.
:func:`shell_messages_poller` reads that socket while the cell runs: widget messages (``comm_*``) are
handled at once, as the kernel would between cells; anything else (the next cells of a Run All, a
kernel_info_request...) is handed back to the kernel, in order, to run after this cell.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

WIDGET_MESSAGES = frozenset({"comm_open", "comm_msg", "comm_close"})


def _main_stream(kernel: Any) -> Any | None:
    """The stream the main thread reads its shell messages from (None: not an ipykernel 7 kernel)."""
    channel = getattr(kernel, "shell_channel_thread", None)
    if channel is not None:
        pair = getattr(getattr(channel, "manager", None), "_shell_channel_to_main", None)
        return getattr(pair, "to_stream", None)
    return getattr(kernel, "shell_stream", None)


def _run_now(kernel: Any, frames: list[Any]) -> None:
    """Handle one widget message now, the cell's output parent kept (its output stays in the cell)."""
    parent = kernel.get_parent("shell")
    ident = kernel._get_shell_context_var(kernel._shell_parent_ident)
    handling = kernel.dispatch_shell(frames, subshell_id=None, concurrent=True)
    try:
        handling.send(None)  # the comm handlers are plain functions: this runs it to the end
    except StopIteration:
        pass
    else:  # it waited on something after all: let the event loop finish it after the cell
        _PENDING.add(asyncio.ensure_future(_finish(handling)))
    finally:
        kernel.set_parent(ident, parent, channel="shell")


_PENDING: set[Any] = set()  # the event loop keeps only weak references to its tasks


async def _finish(handling: Any) -> None:
    try:
        await handling
    finally:
        _PENDING.discard(asyncio.current_task())


@contextmanager
def shell_messages_poller(kernel: Any) -> Iterator[Callable[[], None] | None]:
    """A function that handles the widget messages waiting for the kernel (ipykernel 7), or None
    when this kernel is not one this poller knows."""
    import zmq

    stream: Any = _main_stream(kernel)
    socket = getattr(stream, "socket", None)
    deliver = getattr(stream, "_recv_callback", None)
    if socket is None or deliver is None or getattr(kernel, "session", None) is None:
        yield None
        return
    later: list[list[Any]] = []

    def poll() -> None:
        for _ in range(50):  # a bound per call: the cell gets on with its work between calls
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK, copy=False)
            except zmq.Again:
                return
            try:
                _, body = kernel.session.feed_identities(frames, copy=False)
                kind = kernel.session.deserialize(body, content=False, copy=False)["header"]["msg_type"]
            except Exception:
                kind = None
            if kind in WIDGET_MESSAGES:
                _run_now(kernel, frames)
            else:  # the next cells of a Run All...: in their order, after this cell
                later.append(frames)

    try:
        yield poll
    finally:
        # handed to the kernel as its stream would have (in their order, after this cell)
        for frames in later:
            stream._run_callback(deliver, frames)
