"""The one thread pool kamal_nb fans work out to hosts with (the runner's hosts, a script's hosts
and role lanes, a boot's hosts): every parallel piece of an operation goes through `fan_out`, so
what an interrupt does to running work is decided here and nowhere else.

    results = fan_out(hosts, lambda host: work(host), workers=8, cancel=event)

An interrupt (Ctrl-C in the waiting thread, or a KeyboardInterrupt raised in a worker, e.g. by an
event subscriber) sets ``cancel`` (the workers look at it between steps), starts no new work, lets
the work already running end, then raises KeyboardInterrupt. Any other exception of a worker is
raised once every worker has ended.
"""

from __future__ import annotations

import concurrent.futures
import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

Item = TypeVar("Item")
Value = TypeVar("Value")


class Stop(Exception):
    """Raised inside a worker that saw the cancel event: it stops, the fan-out is interrupted."""


def fan_out(
    items: Sequence[Item],
    work: Callable[[Item], Value],
    *,
    workers: int,
    cancel: threading.Event,
    name: str = "kamal-nb-host",
) -> list[Value]:
    """`work(item)` for every item, at most `workers` at once; the values in the items' order."""
    if not items:
        return []
    interrupt: BaseException | None = None
    problem: BaseException | None = None
    size = max(1, min(workers, len(items)))
    with concurrent.futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix=name) as pool:
        futures = [pool.submit(work, item) for item in items]
        pending = set(futures)
        while pending:
            try:
                done, pending = concurrent.futures.wait(pending, timeout=0.2)
            except KeyboardInterrupt as pressed:
                interrupt = interrupt or pressed
                done = set()
            if interrupt is not None and not cancel.is_set():
                cancel.set()
            if interrupt is not None:
                for future in pending:
                    future.cancel()  # not started yet: never starts
                pending = {f for f in pending if not f.cancelled()}
            for future in done:
                if future.cancelled():
                    continue
                raised = future.exception()
                if isinstance(raised, KeyboardInterrupt | Stop):
                    cancel.set()
                    interrupt = interrupt or (raised if isinstance(raised, KeyboardInterrupt) else KeyboardInterrupt())
                elif raised is not None:
                    problem = problem or raised
    if interrupt is not None:
        raise interrupt
    if problem is not None:
        raise problem
    return [future.result() for future in futures]
