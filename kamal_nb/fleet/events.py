"""The stream of host events that every view consumes: widgets, plain text, run logs, results.

The transport publishes; views subscribe. Events are small immutable values, published from worker
threads, so a subscriber must be quick and thread-safe (append to a widget, a list, a file).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True, slots=True)
class Started:
    """A command (or upload) began on ``host``; ``display`` is its text with secrets redacted."""

    host: str
    index: int
    display: str


@dataclass(frozen=True, slots=True)
class Output:
    """Whole lines a command printed (redacted): one or many, joined by newlines, without the last
    one's newline. A line is never split between two events, except a line longer than the
    runner's LINE_LIMIT, which comes in pieces of that size. A subscriber takes them at once
    (``lines``, or the last few with ``last``): an event per line would be slower than the host."""

    host: str
    index: int
    stream: Literal["stdout", "stderr"]
    text: str

    @property
    def lines(self) -> list[str]:
        return self.text.split("\n")

    def last(self, count: int) -> list[str]:
        """The last ``count`` lines (without splitting the rest)."""
        return self.text.rsplit("\n", count)[-count:] if count > 0 else []


@dataclass(frozen=True, slots=True)
class Finished:
    """A command ended with ``exit_code`` after ``duration`` seconds. ``tolerated``: a non-zero exit
    the operation expects (Kamal's ``raise_on_non_zero_exit: false``: "no lock", "network exists"),
    not a failure of the host."""

    host: str
    index: int
    exit_code: int
    duration: float
    tolerated: bool = False

    @property
    def failed(self) -> bool:
        return self.exit_code != 0 and not self.tolerated


@dataclass(frozen=True, slots=True)
class Failed:
    """The host could not run the command at all: unreachable, refused, timed out, dropped."""

    host: str
    index: int
    reason: str


HostEvent = Started | Output | Finished | Failed
Subscriber = Callable[[HostEvent], None]


class EventStream:
    """Fan-out of host events to subscribers, safe to publish from many threads at once."""

    def __init__(self) -> None:
        self._subscribers: list[Subscriber] = []
        self._lock = threading.Lock()

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Add ``subscriber``; returns a function that removes it again."""
        with self._lock:
            self._subscribers.append(subscriber)

        def unsubscribe() -> None:
            with self._lock:
                if subscriber in self._subscribers:
                    self._subscribers.remove(subscriber)

        return unsubscribe

    def publish(self, event: HostEvent) -> None:
        with self._lock:
            subscribers = list(self._subscribers)
        for subscriber in subscribers:
            subscriber(event)
