"""The plain-text live view: one line per step by default, everything with verbose, failures with quiet;
every line whole and with its host, whatever the threads do."""

from __future__ import annotations

import io
import threading

from kamal_nb.fleet import Failed, Finished, HostEvent, Output, Started
from kamal_nb.redaction import Secret
from kamal_nb.text_view import TRUNCATED, TextView, commands_of, what

LOCK = (
    'mkdir .kamal/lock-demo && echo "TG9ja2VkIGJ5OiBUZXN0IE9wZXJhdG9yIGF0IDIwMjYtMTItMDVUMDk6MTk6\n'
    "MTNaClZlcnNpb246IHYyCk1lc3NhZ2U6IEF1dG9tYXRpYyBkZXBsb3kgbG9j\n"
    'aw==\n" > .kamal/lock-demo/details'
)
PULL_BATCH = "\n".join(
    [
        "docker login 10.200.0.1:5000 -u [REDACTED] -p [REDACTED]",
        "docker info --format '{{index .RegistryConfig.Mirrors 0}}'",
        'mkdir -p .kamal && echo "[2026-12-05T09:19:13Z] [op@example.test] Pulled image with version v2"'
        " >> .kamal/demo-audit.log",
        "docker pull 10.200.0.1:5000/demo:v2",
        LOCK,
        'ids=$(docker container ls --all --quiet); [ -z "$ids" ] || docker container inspect $ids',
    ]
)


def step(host: str, display: str, lines: list[str], code: int = 0, index: int = 0) -> list[HostEvent]:
    return [
        Started(host, index, display),
        *(Output(host, index, "stdout", line) for line in lines),
        Finished(host, index, code, 0.25),
    ]


def shown(events: list[HostEvent], **options: bool) -> str:
    out = io.StringIO()
    view = TextView(out, **options)
    for event in events:
        view(event)
    return out.getvalue()


def test_what_a_step_is_in_one_line() -> None:
    assert what("docker pull 10.200.0.1:5000/demo:v2") == "docker pull 10.200.0.1:5000/demo:v2"
    # the lock's base64 payload goes on over three lines inside its quotes: one command, not three
    assert len(commands_of(LOCK)) == 1 and len(commands_of(PULL_BATCH)) == 6
    assert what(LOCK) == "mkdir"
    assert what(PULL_BATCH, width=200) == (
        "6 commands: docker login, docker info, audit: Pulled image with version v2, docker pull, mkdir,"
        " docker container ls"
    )
    cut = what(PULL_BATCH, width=40)
    assert len(cut) <= 40 and cut.endswith("…")
    assert what("x" * 200, width=30) == "x" * 29 + "…"


def test_default_view_is_one_line_per_step_and_no_output() -> None:
    text = shown(step("h1", PULL_BATCH, ["Login Succeeded", "v2: Pulling from demo"]))
    assert text == (
        "[h1] ok      0.25s  6 commands: docker login, docker info, audit: Pulled image with version v2, docker pull…\n"
    )


def test_a_failing_step_shows_its_exit_and_the_tail_of_its_output() -> None:
    lines = [f"line {i}" for i in range(30)]
    text = shown(step("h1", "docker pull app:v9", [*lines, "manifest unknown"], code=1))
    head, *rest = text.splitlines()
    assert head == "[h1] exit 1  0.25s  docker pull app:v9"
    assert len(rest) == 20 and rest[-1] == "[h1]   │ manifest unknown" and rest[0] == "[h1]   │ line 11"


def test_quiet_shows_failures_only_and_verbose_everything() -> None:
    events = [*step("h1", "docker ps", ["abc"]), *step("h1", "docker start app", ["no such container"], 1, 1)]
    events.append(Failed("h2", 0, "h2: connection refused"))
    quiet = shown(events, quiet=True)
    assert quiet == (
        "[h1] exit 1  0.25s  docker start app\n[h1]   │ no such container\n[h2] FAILED: h2: connection refused\n"
    )
    verbose = shown(events, verbose=True)
    assert verbose.splitlines() == [
        "[h1] $ docker ps",
        "[h1] abc",
        "[h1] ok (0.2s)",
        "[h1] $ docker start app",
        "[h1] no such container",
        "[h1] exit 1 (0.2s)",
        "[h2] FAILED: h2: connection refused",
    ]


def test_a_host_that_fails_mid_step_names_the_step() -> None:
    text = shown([Started("h1", 0, "docker pull app:v2"), Failed("h1", 0, "timed out after 30s")])
    assert text == "[h1] FAILED  docker pull app:v2: timed out after 30s\n"


def test_verbose_gives_every_line_of_a_multiline_command_its_host() -> None:
    text = shown(step("h1", LOCK, []), verbose=True)
    assert all(line.startswith("[h1] ") for line in text.splitlines())
    assert text.splitlines()[:2] == [
        '[h1] $ mkdir .kamal/lock-demo && echo "TG9ja2VkIGJ5OiBUZXN0IE9wZXJhdG9yIGF0IDIwMjYtMTItMDVUMDk6MTk6',
        "[h1]   MTNaClZlcnNpb246IHYyCk1lc3NhZ2U6IEF1dG9tYXRpYyBkZXBsb3kgbG9j",
    ]


def test_lines_from_many_threads_are_never_split_nor_mixed() -> None:
    class Chunky(io.StringIO):
        """A terminal that takes writes in small pieces, as a pipe may."""

        def write(self, text: str) -> int:
            for i in range(0, len(text), 7):
                super().write(text[i : i + 7])
            return len(text)

    out = Chunky()
    view = TextView(out, verbose=True)
    hosts = [f"10.0.0.{i}" for i in range(8)]

    def work(host: str) -> None:
        for index in range(20):
            for event in step(host, f"echo {index}\nsecond line of {index}", [f"{host} says {index} " * 5]):
                view(event)

    threads = [threading.Thread(target=work, args=(host,)) for host in hosts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    lines = out.getvalue().splitlines()
    assert len(lines) == 8 * 20 * 4
    for line in lines:
        host = line[1 : line.index("]")]
        assert host in hosts
        rest = line[len(host) + 3 :]
        assert rest.startswith(("$ echo ", "  second line of ", "ok (", f"{host} says "))


def test_secrets_are_masked_in_every_level() -> None:
    secret = Secret("hunter2-registry")
    events = step("h1", f"docker login -p {secret.reveal()}", [f"denied {secret.reveal()}"], code=1)
    for options in ({}, {"verbose": True}, {"quiet": True}):
        assert secret.reveal() not in shown(events, **options)


def test_an_event_of_many_lines_is_shown_line_by_line_and_its_tail_on_failure() -> None:
    chunk = "\n".join(f"line {n}" for n in range(1000))
    verbose = shown(step("web-1", "yes", [chunk, "last"]), verbose=True)
    assert verbose.count("[web-1] line ") == 1000 and "[web-1] last\n" in verbose
    failed = shown(step("web-1", "yes", [chunk, "last"], code=1))
    tail = [line for line in failed.splitlines() if "│" in line]
    assert tail[0].endswith("│ line 981") and tail[-1].endswith("│ last") and len(tail) == 20


def test_the_line_limit_counts_the_lines_of_each_event() -> None:
    out = io.StringIO()
    view = TextView(out, verbose=True, line_limit=5)
    for event in step("web-1", "yes", ["a\nb\nc", "d\ne\nf\ng", "h"]):
        view(event)
    lines = [line for line in out.getvalue().splitlines() if not line.startswith("[web-1] $") and "ok (" not in line]
    assert lines == [f"[web-1] {x}" for x in "abcde"] + ["[web-1] " + TRUNCATED]


def test_a_tolerated_exit_reads_as_an_expected_one_without_its_output() -> None:
    display = "stat .kamal/lock-demo > /dev/null && cat .kamal/lock-demo/details | base64 -d"
    events: list[HostEvent] = [
        Started("h1", 0, display),
        Output("h1", 0, "stderr", "stat: cannot statx '.kamal/lock-demo': No such file or directory"),
        Finished("h1", 0, 1, 0.05, tolerated=True),
    ]
    assert shown(events) == f"[h1] ok      0.05s  {what(display)} (exit 1, expected)\n"
    assert shown(events, quiet=True) == ""
    assert shown(events, verbose=True).splitlines()[-1] == "[h1] exit 1, expected (0.1s)"
    # the same exit, not tolerated: a failure with its last lines
    failing = [*events[:2], Finished("h1", 0, 1, 0.05)]
    assert "exit 1" in shown(failing, quiet=True) and "│ stat: cannot statx" in shown(failing)
