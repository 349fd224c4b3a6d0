"""A follow's subscriber gets the lines that came before it subscribed: the streams start before a
view can subscribe, and a short command (`exec --stream 'echo x'`) may have printed everything by
then (the terminal showed nothing, one run in four)."""

from __future__ import annotations

import threading
from typing import Any

from kamal_nb.ops.follow import Follow, StreamLine


def test_lines_before_the_subscription_are_replayed_in_order_then_new_ones_follow() -> None:
    follow = Follow("server exec --stream", ctx=Any, commands={"h1": ("h1", "echo x")}, keep=100)  # type: ignore[arg-type]
    for n in range(3):
        follow._line("h1", f"early {n}")
    seen: list[str] = []
    follow.subscribe(lambda line: seen.append(line.line))
    follow._line("h1", "late")
    assert seen == ["early 0", "early 1", "early 2", "late"]


def test_a_line_arriving_during_the_replay_comes_after_it() -> None:
    follow = Follow("app logs -f", ctx=Any, commands={"h1": ("h1", "docker logs -f x")}, keep=1000)  # type: ignore[arg-type]
    for n in range(500):
        follow._line("h1", f"early {n}")
    seen: list[str] = []
    started = threading.Event()

    def slow(line: StreamLine) -> None:
        started.set()
        seen.append(line.line)

    def during() -> None:
        started.wait(5)
        follow._line("h1", "during")

    writer = threading.Thread(target=during)
    writer.start()
    follow.subscribe(slow)
    writer.join(5)
    assert seen[-1] == "during" and seen[:500] == [f"early {n}" for n in range(500)]
