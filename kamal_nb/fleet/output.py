"""A command's output on its way from the channel: Output events of whole lines, and the bounded
part of it that the command's result keeps.

The channel is read 64 KiB at a time, and each read becomes one event carrying every whole line in
it (an event per line was what made 10 MB of short lines take 10x Kamal's time). A line is never
split between events, so a secret (masked line by line, every line of a multi-line secret
registered on its own) is always masked whole.
"""

from __future__ import annotations

import re
import time
from collections import deque
from collections.abc import Callable
from typing import Literal, Protocol

from kamal_nb.fleet.events import EventStream, Output
from kamal_nb.redaction import redact

# What the runner keeps of each command's output, per stream: the first and the last OUTPUT_KEEP
# characters (whole lines), with a note in between saying how much was dropped. Events still carry
# every line. A line longer than LINE_LIMIT is passed on in pieces of that size.
OUTPUT_KEEP = 512 * 1024
LINE_LIMIT = 64 * 1024
READ_SIZE = 64 * 1024  # bytes asked of the channel at a time

_LINE_END_CR = re.compile(r"\r+(?=\n|\Z)")


class PartsDone(Protocol):
    """A batch of commands (kamal_nb.fleet.runner.Batch), told as soon as each of them ends."""

    def part_done(self, part: int, exit_code: int) -> None: ...


class Kept:
    """The head and tail of one command's output on one stream, and how much was dropped between."""

    def __init__(self, keep: int) -> None:
        self.keep = keep
        self.head: list[str] = []
        self.head_size = 0
        self.tail: deque[str] = deque()
        self.tail_size = 0
        self.dropped_chars = 0
        self.dropped_lines = 0

    def add(self, piece: str) -> None:
        """Add whole lines (or a piece of a line too long to wait for its end)."""
        if self.head_size < self.keep:
            # the head takes whole lines up to the one that reaches `keep`
            room = self.keep - self.head_size
            cut = len(piece) if len(piece) <= room else piece.find("\n", room - 1) + 1 or len(piece)
            self.head.append(piece[:cut])
            self.head_size += cut
            piece = piece[cut:]
            if not piece:
                return
        self.tail.append(piece)
        self.tail_size += len(piece)
        self._trim()

    def _trim(self) -> None:
        while self.tail_size > self.keep:
            first = self.tail[0]
            excess = self.tail_size - self.keep
            if excess >= len(first):
                gone = first
                self.tail.popleft()
            else:
                # drop whole lines from the front of the first piece, up to the one that frees enough
                cut = first.find("\n", excess - 1) + 1
                if cut == 0 or cut == len(first):
                    if len(self.tail) == 1:
                        return
                    cut = len(first)
                gone, rest = first[:cut], first[cut:]
                if rest:
                    self.tail[0] = rest
                else:
                    self.tail.popleft()
            self.tail_size -= len(gone)
            self.dropped_chars += len(gone)
            self.dropped_lines += gone.count("\n")

    def text(self) -> str:
        note = ""
        if self.dropped_chars:
            note = (
                f"[kamal_nb: {self.dropped_chars} characters ({self.dropped_lines} lines) of output dropped here; "
                f"kept the first {self.head_size} and the last {self.tail_size} characters]\n"
            )
        return "".join(self.head) + note + "".join(self.tail)


class OutputEmitter:
    """A write-only stream that turns what the channel gives into Output events of whole lines, and
    keeps what the result will carry: all of it up to ``keep`` characters from each end of each
    command's output (a batch's commands are told apart by their marker lines, always kept)."""

    def __init__(
        self,
        publish: EventStream,
        host: str,
        index: int,
        stream: Literal["stdout", "stderr"],
        marker: str | None = None,
        keep: int | None = None,
        batch: PartsDone | None = None,
        live: Callable[[], bool] = lambda: True,
    ) -> None:
        self._events, self._host, self._index, self._stream = publish, host, index, stream
        self._live = live  # False once the command was hung up: what still arrives is dropped
        self._marker = marker  # a batch's separator: never shown
        self._batch = batch  # told when each of its commands ends (stdout markers carry the code)
        self.ends: list[float] = []  # when each batch command's end marker arrived (monotonic)
        self._partial = ""
        self._keep = OUTPUT_KEEP if keep is None else keep
        self._done: list[str] = []  # the kept text of the commands a marker closed
        self._current = Kept(self._keep)

    def write(self, chunk: str) -> int:
        if not self._live():
            return len(chunk)
        text = self._partial + chunk if self._partial else chunk
        end = text.rfind("\n")
        if end < 0:
            self._partial = text
        else:
            self._partial = text[end + 1 :]
            self._lines(text[:end])
        # a line without an end in sight is passed on in pieces (minus what may be a marker's start)
        spare = len(self._marker) + 24 if self._marker else 0
        while len(self._partial) > LINE_LIMIT + spare:
            piece, self._partial = self._partial[:LINE_LIMIT], self._partial[LINE_LIMIT:]
            self._current.add(piece)
            self._emit(piece)
        return len(chunk)

    def flush(self) -> None:
        """Nothing: invoke flushes after every read, and a line must not end there."""

    def finish(self) -> None:
        """The command ended: what it printed after its last newline goes out too."""
        if self._partial:
            self._current.add(self._partial)
            self._emit(self._partial)
            self._partial = ""

    def text(self) -> str:
        """Everything kept so far (exactly the output when nothing was dropped)."""
        return "".join(self._done) + self._current.text()

    def _lines(self, whole: str) -> None:
        """Whole lines (``whole`` without its last newline): kept and sent on as one event, except
        that a batch's marker lines end a command's output and are never shown."""
        marker = self._marker
        if not marker or marker not in whole:
            self._current.add(whole + "\n")
            self._emit(whole)
            return
        lines = whole.split("\n")
        start = 0
        for at, line in enumerate(lines):
            if marker not in line:
                continue
            if at > start:
                self._lines("\n".join(lines[start:at]))
            self._marker_line(line, marker)
            start = at + 1
        if start < len(lines):
            self._lines("\n".join(lines[start:]))

    def _marker_line(self, line: str, marker: str) -> None:
        before = line.split(marker, 1)[0]
        if before:
            self._current.add(before)
        self._done.append(self._current.text() + line[len(before) :] + "\n")
        self._current = Kept(self._keep)
        if before:
            self._emit(before)  # what the command printed without a newline
        if self._batch is not None:
            self.ends.append(time.monotonic())
            code = line[len(before) + len(marker) :].strip()
            if code.lstrip("-").isdigit():
                self._batch.part_done(len(self.ends) - 1, int(code))

    def _emit(self, text: str) -> None:
        if "\r" in text:
            text = _LINE_END_CR.sub("", text)
        self._events.publish(Output(self._host, self._index, self._stream, redact(text)))
