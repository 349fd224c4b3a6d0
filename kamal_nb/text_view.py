"""The plain-text live view of an operation, fed by the session's host events while it runs.

:class:`TextView` prints ``[host] ...`` lines: the ``kamal-nb`` script, terminal IPython, notebooks
with widgets off. It sits below both views (the command line and the notebook), which share it;
:class:`kamal_nb.notebook.widgets.WidgetView` is the notebook's widget counterpart and uses the same
step lines (:func:`step_line`, :func:`what`).

Three levels, as Kamal's own output has:

* default: one line per step when it ends, as Kamal's INFO lines (host, what, duration, exit); a
  command's output is not shown (the result shows it, once), except the tail of a failing step's;
* ``verbose`` (``-v``): every command's full text and every line it prints;
* ``quiet`` (``-q``): failures only.

Every line is written whole, prefixed with its host, under one lock: lines of different hosts
interleave, but no line is ever split or left without its host.

Both views are event subscribers: called from the transport's worker threads, quick and thread-safe.
"""

from __future__ import annotations

import re
import sys
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import TextIO

from kamal_nb.fleet import Failed, Finished, HostEvent, Output, Started
from kamal_nb.redaction import redact

Subscriber = Callable[[HostEvent], None]
TRUNCATED = "… (more output: see the result object)"
WHAT_WIDTH = 88  # characters of a step's summary in the default view
FAILED_TAIL = 20  # lines of a failing step's output the default view shows

_AUDIT = re.compile(r"""echo ["']\[[^]]*\] \[[^]]*\] (.*?)["'] >> \S*audit\.log""")
_SHELL_WRAP = re.compile(r"""^(?:sh|bash) -c (['"])(.*)\1$""", re.DOTALL)
_ASSIGNMENT = re.compile(r"^\w+=\$\(")  # ids=$(docker container ls ...): the command inside


def commands_of(display: str) -> list[str]:
    """The commands of a step's display text: one per line, except where a quoted string goes on
    over several lines (the lock's base64 payload), which stays with the command it belongs to."""
    commands: list[str] = []
    quote: str | None = None
    for line in display.split("\n"):
        if quote is None and line.strip():
            commands.append(line)
        elif commands:
            commands[-1] += "\n" + line
        escaped = False
        for char in line:
            if escaped:
                escaped = False
            elif char == "\\" and quote != "'":
                escaped = True
            elif quote is None and char in "'\"":
                quote = char
            elif char == quote:
                quote = None
    return commands


def short_name(command: str) -> str:
    """A command in a few words: ``docker pull``, ``audit: Booted app version v2``, ``mkdir``."""
    audit = _AUDIT.search(command)
    if audit:
        return f"audit: {audit.group(1)}"
    wrapped = _SHELL_WRAP.match(command.strip())
    if wrapped:
        command = wrapped.group(2)
    command = _ASSIGNMENT.sub("", command.strip())
    words = command.split()
    if not words:
        return ""
    if words[0] == "docker":
        kept = ["docker"]
        for word in words[1:]:
            if word.startswith("-") or len(kept) == 3:
                break
            kept.append(word)
            if word not in ("container", "image", "network", "volume", "buildx", "system", "context"):
                break
        return " ".join(kept)
    if words[0] == "if" and "]" in words:  # if [ -d .kamal/lock-demo ]; then ...
        return " ".join(words[: words.index("]") + 1])
    if words[0] == "if" and "];" in command:
        return command[: command.index("];") + 1]
    return words[0]


def what(display: str, width: int = WHAT_WIDTH) -> str:
    """A step in one line: the command itself (cut at ``width``), or for several commands sent in one
    round trip their count and short names (``7 commands: docker login, docker info, mkdir, …``)."""
    commands = commands_of(display)
    if len(commands) == 1 and "\n" not in commands[0]:
        text = " ".join(commands[0].split())
    elif len(commands) == 1:
        text = short_name(commands[0])
    else:
        names: list[str] = []
        for command in commands:
            name = short_name(command)
            if name and (not names or names[-1] != name):
                names.append(name)
        text = f"{len(commands)} commands: " + ", ".join(names)
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def step_line(
    what_text: str, exit_code: int | None, duration: float, reason: str | None = None, *, tolerated: bool = False
) -> str:
    """``ok      0.31s  docker pull …`` / ``exit 1  0.31s  docker pull …`` / ``FAILED  docker pull …: why``;
    a tolerated exit reads as an ok step whose exit is said after it (``ok      0.05s  stat … (exit 1)``)."""
    if reason is not None:
        return f"FAILED  {what_text}: {reason}" if what_text else f"FAILED: {reason}"
    if tolerated and exit_code:
        return f"{'ok':<6} {duration:5.2f}s  {what_text} (exit {exit_code}, expected)"
    status = "ok" if exit_code == 0 else f"exit {exit_code}"
    return f"{status:<6} {duration:5.2f}s  {what_text}"


class TextView:
    """Host events as plain text lines, ``[host] ...``; ``quiet`` shows failures only."""

    def __init__(
        self, out: TextIO | None = None, *, quiet: bool = False, verbose: bool = False, line_limit: int = 0
    ) -> None:
        self.out = out
        self.quiet = quiet
        self.verbose = verbose and not quiet
        self.line_limit = line_limit
        self._lines: dict[str, int] = {}
        self._steps: dict[tuple[str, int], str] = {}  # (host, step index) -> what it is
        self._tails: dict[tuple[str, int], deque[str]] = {}  # its last output lines, for a failure
        self._lock = threading.Lock()

    def __call__(self, event: HostEvent) -> None:
        with self._lock:
            lines = list(self._render(event))
            if lines:
                self._write(event.host, lines)

    def _render(self, event: HostEvent) -> Iterable[str]:
        key = (event.host, event.index)
        if isinstance(event, Started):
            self._steps[key] = what(event.display)
            self._tails[key] = deque(maxlen=FAILED_TAIL)
            if self.verbose:
                first, *rest = event.display.split("\n")
                yield f"$ {first}"
                yield from (f"  {line}" for line in rest)
        elif isinstance(event, Output):
            if self.verbose:
                yield from self._limited(event.host, event)
            else:
                self._tails.setdefault(key, deque(maxlen=FAILED_TAIL)).extend(event.last(FAILED_TAIL))
        elif isinstance(event, Finished):
            tail = self._tails.pop(key, deque())
            step = self._steps.pop(key, "")
            if self.verbose:
                if event.failed:
                    yield f"exit {event.exit_code} ({event.duration:.1f}s)"
                elif event.exit_code:
                    yield f"exit {event.exit_code}, expected ({event.duration:.1f}s)"
                else:
                    yield f"ok ({event.duration:.1f}s)"
            elif event.failed or not self.quiet:
                yield step_line(step, event.exit_code, event.duration, tolerated=event.tolerated)
                if event.failed:
                    yield from (f"  │ {line}" for line in tail)
        elif isinstance(event, Failed):
            self._tails.pop(key, None)
            yield step_line("" if self.verbose else self._steps.pop(key, ""), None, 0.0, event.reason)

    def _limited(self, host: str, event: Output) -> list[str]:
        """An event's lines up to ``line_limit`` per host, then one note (step lines are never cut)."""
        shown = self._lines.get(host, 0)
        if self.line_limit and shown > self.line_limit:
            return []  # the note was shown: nothing more (and no need to split the lines)
        lines = event.lines
        self._lines[host] = shown + len(lines)
        if not self.line_limit or shown + len(lines) <= self.line_limit:
            return lines
        return [*lines[: self.line_limit - shown], TRUNCATED]

    def _write(self, host: str, lines: list[str]) -> None:
        """Whole lines, each with its host, in one write (called with the lock held)."""
        out = self.out or sys.stdout
        prefix = f"[{host}] "
        out.write(redact(prefix + ("\n" + prefix).join(lines)) + "\n")
        out.flush()
