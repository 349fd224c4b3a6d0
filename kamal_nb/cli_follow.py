"""``kamal-nb app logs -f`` (and the other follows, ``exec --stream``) in a terminal: the lines as
they come, with a host label when several hosts stream, until the streams end, Ctrl-C or ``--for``."""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    from kamal_nb.cli_tree import Invocation
    from kamal_nb.ops.follow import FollowResult, StreamLine
    from kamal_nb.ops.session import Context


def follow_in_terminal(ctx: Context, invocation: Invocation, out: TextIO) -> FollowResult:
    from kamal_nb.ops.follow import DEFAULT_KEEP, start_follow, wait_and_stop

    args = dict(invocation.args)
    given = args.get("follow_for")
    follow = start_follow(ctx, invocation.path, args, keep=int(args.get("keep") or DEFAULT_KEEP))
    labels = len(follow.labels) > 1
    pending: deque[StreamLine] = deque()
    lock = threading.Lock()

    def add(line: StreamLine) -> None:
        with lock:
            pending.append(line)

    def flush() -> None:
        with lock:
            lines = list(pending)
            pending.clear()
        for x in lines:
            out.write((f"{x.host} | {x.line}" if labels else x.line) + "\n")
        if lines:
            out.flush()

    follow.subscribe(add)
    result = wait_and_stop(follow, float(given) if given not in (None, "") else None, flush)
    flush()
    return result
