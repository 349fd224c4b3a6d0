"""The one thread pool kamal_nb fans work out to hosts with (the runner's hosts, a script's hosts
and role lanes, a boot's hosts): every parallel piece of an operation goes through `fan_out`, so
what an interrupt does to running work is decided here and nowhere else.

    results = fan_out(hosts, lambda host: work(host), workers=8, cancel=event, on_interrupt=runner.abort)

An interrupt (Ctrl-C or SIGTERM in the waiting thread, or a KeyboardInterrupt raised in a worker,
e.g. by an event subscriber) sets ``cancel`` (the workers look at it between steps), calls
``on_interrupt`` (which hangs up the commands running now), starts no new work, gives the work
already running `GRACE` seconds to end, then raises KeyboardInterrupt: a worker stuck on a host
that does not answer is never waited for (its thread is a daemon, and ends with the liveness rule
or the process). Any other exception of a worker is raised once every worker has ended.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Value = TypeVar("Value")

# seconds the work running when an interrupt came is given to end (its commands were hung up)
GRACE = 1.0


class Stop(Exception):
    """Raised inside a worker that saw the cancel event: it stops, the fan-out is interrupted."""


class _Slot(Generic[Value]):
    def __init__(self) -> None:
        self.started = False
        self.ended = False
        self.value: Value | None = None
        self.raised: BaseException | None = None


def fan_out(
    items: Sequence[Item],
    work: Callable[[Item], Value],
    *,
    workers: int,
    cancel: threading.Event,
    name: str = "kamal-nb-host",
    on_interrupt: Callable[[], None] | None = None,
) -> list[Value]:
    """`work(item)` for every item, at most `workers` at once; the values in the items' order."""
    if not items:
        return []
    slots: list[_Slot[Value]] = [_Slot() for _ in items]
    guard = threading.Condition()
    stopping = False  # no new item starts
    next_index = 0

    def worker() -> None:
        nonlocal next_index, stopping
        while True:
            with guard:
                if stopping or next_index >= len(items):
                    return
                index, next_index = next_index, next_index + 1
                slot = slots[index]
                slot.started = True
            try:
                slot.value = work(items[index])
            except BaseException as raised:  # handed to the waiting thread
                slot.raised = raised
            with guard:
                if isinstance(slot.raised, KeyboardInterrupt | Stop):
                    stopping = True  # interrupted: this worker starts nothing new either
                slot.ended = True
                guard.notify_all()

    size = max(1, min(workers, len(items)))
    for number in range(size):
        threading.Thread(target=worker, name=f"{name}-{number}", daemon=True).start()

    interrupt: BaseException | None = None
    grace_ends: float | None = None

    def interrupted(pressed: BaseException) -> None:
        nonlocal interrupt, stopping, grace_ends
        if interrupt is not None:
            return
        interrupt = pressed
        cancel.set()
        with guard:
            stopping = True
        if on_interrupt is not None:
            on_interrupt()
        grace_ends = time.monotonic() + GRACE

    while True:
        try:
            with guard:
                running = any(s.started and not s.ended for s in slots)
                if not running and (stopping or all(s.started for s in slots)):
                    break
                stopped = next((s.raised for s in slots if isinstance(s.raised, KeyboardInterrupt | Stop)), None)
                if stopped is None or interrupt is not None:
                    guard.wait(0.2)
            if stopped is not None and interrupt is None:  # a worker was interrupted, or saw `cancel`
                interrupted(stopped if isinstance(stopped, KeyboardInterrupt) else KeyboardInterrupt())
            if grace_ends is not None and time.monotonic() >= grace_ends:
                break  # what still runs is stuck on a host: not waited for
        except KeyboardInterrupt as pressed:
            interrupted(pressed)
    if interrupt is not None:
        raise interrupt
    for slot in slots:
        if slot.raised is not None:
            raise slot.raised
    return [slot.value for slot in slots]  # type: ignore[misc]  # every slot ended with a value
