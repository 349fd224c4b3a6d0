"""fan_out under an interrupt: the running work is hung up (on_interrupt), nothing new starts, and a
worker stuck on a host that does not answer is not waited for beyond GRACE."""

from __future__ import annotations

import threading
import time

import pytest

from kamal_nb.fleet.fanout import GRACE, fan_out


def test_an_interrupt_does_not_wait_for_a_stuck_worker() -> None:
    stuck = threading.Event()  # never set: a host that never answers
    hung_up = threading.Event()
    started: list[str] = []

    def work(item: str) -> str:
        started.append(item)
        if item == "silent":
            stuck.wait(60)
        if item == "pressed":
            time.sleep(0.2)
            raise KeyboardInterrupt
        return item

    cancel = threading.Event()
    began = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        fan_out(["silent", "pressed", "later"], work, workers=2, cancel=cancel, on_interrupt=hung_up.set)
    took = time.monotonic() - began
    assert took < GRACE + 1.5, took
    assert hung_up.is_set() and cancel.is_set()
    assert "later" not in started  # nothing new starts after the interrupt
    stuck.set()


def test_without_an_interrupt_every_value_comes_back_in_order() -> None:
    cancel = threading.Event()
    values = fan_out(list(range(20)), lambda n: n * n, workers=4, cancel=cancel)
    assert values == [n * n for n in range(20)]
    assert not cancel.is_set()


def test_a_failure_is_raised_once_every_worker_ended() -> None:
    ended: list[int] = []

    def work(n: int) -> int:
        if n == 0:
            raise ValueError("boom")
        time.sleep(0.3)
        ended.append(n)
        return n

    with pytest.raises(ValueError, match="boom"):
        fan_out([0, 1, 2], work, workers=3, cancel=threading.Event())
    assert sorted(ended) == [1, 2]
