"""The SSH liveness rule on a stand-in transport: a silent one is lost after interval x count_max,
probes go out every interval of silence, one that answers stays, and the answers to our probes
never reach paramiko's own global requests (a port forward's)."""

from __future__ import annotations

import threading
import time
from typing import Any

from paramiko.common import MSG_REQUEST_FAILURE, MSG_REQUEST_SUCCESS

from kamal_nb.fleet.liveness import Liveness


class StandIn:
    """What the rule uses of a paramiko Transport: its packetizer's reads, global requests, the
    reply handlers, sending a message."""

    def __init__(self, *, answers: bool) -> None:
        self.answers = answers
        self.active = True
        self.sent: list[str] = []
        self.replies: list[str] = []
        self.packetizer = self
        self.inbox: list[tuple[int, str]] = []
        self.lock = threading.Lock()
        self._handler_table: dict[int, Any] = {
            MSG_REQUEST_SUCCESS: lambda m: self.replies.append(f"success:{m}"),
            MSG_REQUEST_FAILURE: lambda m: self.replies.append(f"failure:{m}"),
        }

    def is_active(self) -> bool:
        return self.active

    def close(self) -> None:
        self.active = False

    def read_message(self) -> tuple[int, str]:
        with self.lock:
            return self.inbox.pop(0)

    def _send_user_message(self, message: Any) -> None:
        self.sent.append("probe")
        if self.answers:
            self.deliver(MSG_REQUEST_FAILURE, "probe")  # sshd answers unknown requests with a failure

    def global_request(self, kind: str, data: Any = None, wait: bool = True) -> str:
        self.sent.append(kind)
        self.deliver(MSG_REQUEST_SUCCESS, kind)
        return kind

    def deliver(self, kind: int, text: str) -> None:
        """A reply arrives: the transport thread reads it and calls its handler."""
        with self.lock:
            self.inbox.append((kind, text))
        kind_read, message = self.packetizer.read_message()
        self._handler_table[kind_read](message)


def test_a_silent_transport_is_lost_after_interval_times_count() -> None:
    lost: list[tuple[str, str]] = []
    rule = Liveness(0.2, 3, lambda host, transport, why: lost.append((host, why)))
    silent = StandIn(answers=False)
    began = time.monotonic()
    rule.watch("h3", silent)
    while not lost and time.monotonic() - began < 5:
        time.sleep(0.02)
    took = time.monotonic() - began
    rule.close()
    assert lost and lost[0][0] == "h3"
    assert "lost: no answer" in lost[0][1] and "keepalive_count_max 3" in lost[0][1]
    assert 0.55 <= took < 3, took
    assert silent.sent.count("probe") >= 2  # asked every interval of silence


def test_a_transport_that_answers_stays_and_its_answers_stay_ours() -> None:
    lost: list[str] = []
    rule = Liveness(0.3, 3, lambda host, transport, why: lost.append(host))  # margins for a busy machine
    answering = StandIn(answers=True)
    rule.watch("h1", answering)
    time.sleep(1.5)
    assert answering.global_request("tcpip-forward") == "tcpip-forward"  # through the rule's wrapper
    rule.close()
    assert lost == []
    assert answering.sent.count("probe") >= 2
    # paramiko saw the answer to its own request, never one to a probe
    assert answering.replies == ["success:tcpip-forward"]
