"""The SSH liveness rule, as OpenSSH's ServerAliveInterval / ServerAliveCountMax: a host that has
sent nothing for ``interval`` seconds is asked for an answer (a ``keepalive@openssh.com`` global
request, which every sshd answers); a host that stays silent for ``interval * count_max`` seconds,
asked every ``interval``, is lost: its transport is closed, so whatever waited on it (a command's
output, its exit status, a channel being opened) ends at once, and the pool says why.

paramiko's own keepalive asks for no answer, so it can never find a host silent: without this a
host whose packets are dropped holds a command until TCP gives up (about 16 minutes).

    watch = Liveness(interval=15, count_max=3, on_lost=pool.lost)
    watch.watch("10.0.0.1", transport)
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

LostCallback = Callable[[str, Any, str], None]  # host, its transport, why


class _Watched:
    """One transport: when it was last heard from, and the probes whose answers are awaited."""

    def __init__(self, host: str, transport: Any, interval: float, count_max: int) -> None:
        self.host = host
        self.transport = transport
        self.interval = interval
        self.count_max = count_max
        self.heard = time.monotonic()
        self.probed = 0.0  # when the last probe went out (monotonic; 0: none since last heard)
        self.sending = False  # a probe is being sent (its thread may block on a full send buffer)
        # Replies to global requests come in the order they were asked: True for ours (swallowed),
        # False for paramiko's own (a port forward's), which go on to paramiko.
        self.asked: deque[bool] = deque()
        self.order = threading.Lock()


class Liveness:
    """Watches transports from one daemon thread; calls ``on_lost`` for a host that went silent."""

    def __init__(self, interval: float, count_max: int, on_lost: LostCallback) -> None:
        self.interval = interval
        self.count_max = max(1, count_max)
        self._on_lost = on_lost
        self._watched: dict[int, _Watched] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    @property
    def limit(self) -> float:
        """Seconds of silence after which a host is lost."""
        return self.interval * self.count_max

    def watch(self, host: str, transport: Any, *, interval: float | None = None, count_max: int | None = None) -> None:
        """Watch ``transport``; ``interval``/``count_max`` for this host only (its ssh config's
        ServerAliveInterval/ServerAliveCountMax), else the rule's own."""
        watched = _Watched(host, transport, interval or self.interval, max(1, count_max or self.count_max))
        _hook(watched)
        with self._lock:
            self._watched[id(transport)] = watched
            if self._thread is None or not self._thread.is_alive() or self._stop.is_set():
                self._stop = threading.Event()  # a closed watch's thread ends on its own event
                self._thread = threading.Thread(
                    target=self._loop, args=(self._stop,), name="kamal-nb-liveness", daemon=True
                )
                self._thread.start()

    def forget(self, transport: Any) -> None:
        with self._lock:
            self._watched.pop(id(transport), None)

    def close(self) -> None:
        self._stop.set()
        with self._lock:
            self._watched.clear()

    def _loop(self, stop: threading.Event) -> None:
        while not stop.wait(self._tick()):
            with self._lock:
                watched = list(self._watched.values())
            for item in watched:
                self._check(item, time.monotonic())

    def _tick(self) -> float:
        with self._lock:
            intervals = [w.interval for w in self._watched.values()]
        return min(1.0, self.interval / 4, *(i / 4 for i in intervals))

    def _check(self, item: _Watched, now: float) -> None:
        if not item.transport.is_active():
            self.forget(item.transport)
            return
        silent = now - item.heard
        if silent >= item.interval * item.count_max:
            self.forget(item.transport)
            why = (
                f"lost: no answer for {silent:.0f}s to keepalives sent every {item.interval:g}s "
                f"(keepalive_interval {item.interval:g}s x keepalive_count_max {item.count_max})"
            )
            self._on_lost(item.host, item.transport, why)
            return
        if silent >= item.interval and now - max(item.probed, item.heard) >= item.interval and not item.sending:
            item.probed = now
            item.sending = True
            # sent from a thread of its own: a silent host's full send buffer must not stop the watch
            threading.Thread(target=_probe, args=(item,), name="kamal-nb-keepalive", daemon=True).start()


def _probe(item: _Watched) -> None:
    from paramiko.common import cMSG_GLOBAL_REQUEST
    from paramiko.message import Message

    message = Message()
    message.add_byte(cMSG_GLOBAL_REQUEST)
    message.add_string("keepalive@openssh.com")
    message.add_boolean(True)  # want a reply: the reply is the proof of life
    try:
        if not item.order.acquire(timeout=1.0):  # a request of paramiko's awaits its answer: next time
            return
        try:
            item.asked.append(True)
            item.transport._send_user_message(message)
        finally:
            item.order.release()
    except Exception:  # a transport closing under us: the silence decides
        pass
    finally:
        item.sending = False


def _hook(item: _Watched) -> None:
    """Note every packet the transport reads, and keep our probes' answers away from paramiko."""
    transport = item.transport
    packetizer = transport.packetizer
    read_message = packetizer.read_message

    def read_and_note() -> Any:
        message = read_message()
        item.heard = time.monotonic()
        item.probed = 0.0
        return message

    packetizer.read_message = read_and_note

    global_request = transport.global_request

    def ordered_global_request(kind: str, data: Any = None, wait: bool = True) -> Any:
        if not wait:
            return global_request(kind, data, wait)
        with item.order:  # held until its answer came, so that the order of answers is known
            item.asked.append(False)
            return global_request(kind, data, wait)

    transport.global_request = ordered_global_request

    from paramiko.common import MSG_REQUEST_FAILURE, MSG_REQUEST_SUCCESS

    for kind in (MSG_REQUEST_SUCCESS, MSG_REQUEST_FAILURE):
        handler = transport._handler_table[kind]

        def answer(message: Any, handler: Callable[[Any], None] = handler) -> None:
            ours = item.asked.popleft() if item.asked else False
            if not ours:
                handler(message)

        transport._handler_table[kind] = answer
