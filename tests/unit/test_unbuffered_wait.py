"""The SSH runner's wait for a command's end (kamal_nb.fleet.unbuffered): it wakes when the channel's
exit status comes, not at invoke's next poll; a reader thread that died still ends it; a runner
without a channel (the sandbox's local one) waits as invoke does."""

from __future__ import annotations

import threading
from typing import Any

from kamal_nb.fleet.unbuffered import unbuffered


class Polling:
    """invoke's Runner as far as wait goes: it looks every `input_sleep` seconds."""

    input_sleep = 3600.0  # an hour: a wait that returns did not wait for its next look
    has_dead_threads = False

    def __init__(self) -> None:
        self.polled = False

    def wait(self) -> None:
        self.polled = True


class Channel:
    def __init__(self) -> None:
        self.status_event = threading.Event()


def waited(runner: Any) -> bool:
    """Whether `runner.wait()` returned (in a thread, given a minute)."""
    thread = threading.Thread(target=runner.wait, daemon=True)
    thread.start()
    thread.join(60)
    return not thread.is_alive()


def test_the_wait_ends_when_the_exit_status_comes() -> None:
    runner = unbuffered(Polling)()
    runner.channel = Channel()
    threading.Timer(0.05, runner.channel.status_event.set).start()
    assert waited(runner) and not runner.polled


def test_a_dead_reader_thread_ends_the_wait() -> None:
    runner = unbuffered(Polling)()
    runner.channel = Channel()
    runner.input_sleep = 0.01
    runner.has_dead_threads = True
    assert waited(runner) and not runner.channel.status_event.is_set()


def test_a_runner_without_a_channel_waits_as_invoke_does() -> None:
    runner = unbuffered(Polling)()
    assert waited(runner) and runner.polled


class DeadChannel:
    """fabric's Remote.kill closes the channel; on a dead connection paramiko raises from its send."""

    def kill(self) -> None:
        raise EOFError()


def test_a_kill_on_a_dead_connection_raises_nothing_in_the_timer_thread() -> None:
    # invoke's timeout timer calls kill() in its own thread: an exception there is a traceback on stderr
    unbuffered(DeadChannel)().kill()
