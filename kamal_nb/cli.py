"""The ``kamal-nb`` console script (and ``python -m kamal_nb``): Kamal's command line, run here.

It parses with the same command tree as ``%kamal`` (:mod:`kamal_nb.cli_tree`), runs the command
through the operation catalog against a session rooted in the current directory, streams host
output as ``[host] line`` and prints the plan or result as text::

    kamal-nb details -d staging
    kamal-nb plan deploy --version v7
    kamal-nb deploy --version v7 --yes

Exit codes: 0 done (or a plan asked for with ``plan``), 1 failed on some host, or not run because a
command that changes hosts was given without ``--yes`` (its plan is printed), or an error in the
configuration; 2 bad arguments. ``kamal-nb config`` prints the configuration as ``kamal config``
does (secrets redacted).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

# Imports are placed where the command needs them: `kamal-nb version` imports nothing else, and a
# fleet question (`details`, `lock status`) never imports pandas, ipywidgets or the docker SDK.
if TYPE_CHECKING:
    from kamal_nb import cli_tree
    from kamal_nb.ops.catalog import Failure
    from kamal_nb.ops.session import Context


def build_parser() -> argparse.ArgumentParser:
    """The command tree (as ``kamal-nb``)."""
    from kamal_nb import cli_tree

    return cli_tree.build_parser("kamal-nb")


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    if words == ["version"]:  # answered before the command tree is even imported
        from kamal_nb.version import KAMAL_COMPAT_VERSION, __version__

        out.write(f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})\n")
        return 0
    from kamal_nb import cli_tree

    try:
        invocation = cli_tree.parse(words, prog="kamal-nb")
    except cli_tree.HelpRequested as help:
        out.write(help.text)
        return 0
    except cli_tree.ParseError as error:
        err.write(_usage_line(error.usage))
        err.write(f"{error}\n")
        return 2
    if invocation.path == ("config",) and not invocation.plan:
        from kamal_nb.cli_config import run_config_command

        options = invocation.options()
        namespace = argparse.Namespace(
            config_file=options.config_file, destination=options.destination, app_version=options.version
        )
        return run_config_command(namespace, out=out, err=err)
    try:
        return run(invocation, out=out, err=err)
    except KeyboardInterrupt:  # outside the operation (its own interrupt is a Failure): still one line
        from kamal_nb.ops.catalog import INTERRUPTED

        err.write(f"kamal-nb {invocation.name}: {INTERRUPTED}\n")
        return 130


def _usage_line(usage: str) -> str:
    """argparse's usage in one line: the command, its positional arguments and where its options are
    listed (a long usage wraps over many lines, and the error is what the reader needs)."""
    lines = usage.strip().splitlines()
    if len(lines) <= 1:
        return usage
    groups = _top_level_groups(" ".join(line.strip() for line in lines).split(None, 1)[1])
    # the command's own words: up to its first option (what follows are options and their values)
    first_option = next((i for i, g in enumerate(groups) if g.startswith(("[", "-"))), len(groups))
    command = " ".join(groups[:first_option])
    positionals, after_option = [], False
    for group in groups[first_option:]:
        value_of_option = after_option and not group.startswith(("[", "-"))
        after_option = group.startswith("-")
        if not value_of_option and not group.startswith(("-", "[-")):
            positionals.append(group)
    return f"usage: {' '.join([command, '[options]', *positionals])}  (all of them: {command} --help)\n"


def _top_level_groups(text: str) -> list[str]:
    """The words of a usage, a bracketed group (`[-n LINES]`, `[CMD ...]`) counting as one."""
    groups: list[str] = []
    depth, current = 0, ""
    for char in text:
        if char == " " and depth == 0:
            if current:
                groups.append(current)
            current = ""
            continue
        depth += {"[": 1, "(": 1, "]": -1, ")": -1}.get(char, 0)
        current += char
    if current:
        groups.append(current)
    return groups


def run(invocation: cli_tree.Invocation, *, out: TextIO, err: TextIO, root: Path | None = None) -> int:
    """Run one parsed command against a session in ``root`` (the current directory)."""
    if invocation.path == ("state",):
        import kamal_nb.state.operation  # noqa: F401 (registers `state` in the catalog: state sits above ops)
    from kamal_nb.engine.plan import Plan
    from kamal_nb.engine.result import OperationResult
    from kamal_nb.ops import catalog
    from kamal_nb.ops.local_result import LocalResult
    from kamal_nb.ops.session import Session
    from kamal_nb.text_view import TextView

    name = f"kamal-nb {invocation.name}"
    if invocation.path == ("version",):
        from kamal_nb.version import KAMAL_COMPAT_VERSION, __version__

        out.write(f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})\n")
        return 0
    from kamal_nb.sandbox.backend import backend_from_env

    try:
        backend = backend_from_env()
    except ValueError as error:
        err.write(f"{name}: {error}\n")
        return 2
    session = Session(root=root or Path.cwd(), backend=backend)
    ctx = session.context(invocation.options())
    view = TextView(out, quiet=ctx.options.quiet, verbose=ctx.options.verbose)
    unsubscribe = session.events.subscribe(view)
    signals = _Signals()
    try:
        if not invocation.plan and invocation.path[-1] in ("logs", "exec"):
            # only these can stream: the follow machinery (threads, stream parsing) is theirs alone
            from kamal_nb.ops.follow import streams

            if streams(invocation.path, invocation.args):
                return _follow(ctx, invocation, out=out, err=err)
        outcome = catalog.attempt(
            ctx, invocation.path, dict(invocation.args), yes=invocation.yes, plan_only=invocation.plan
        )
        if outcome.failure is not None and outcome.failure.kind == "interrupted":
            raise outcome.failure.error  # a terminal's answer to Ctrl-C or SIGTERM: the account, 128 + the signal
    except KeyboardInterrupt as interrupt:
        signals.ending()
        unsubscribe()  # no more live lines under the account
        return _interrupted(interrupt, name, signals.received, out=out, err=err)
    finally:
        unsubscribe()
        session.close()
        signals.restore()
    failure = outcome.failure
    if failure is not None:
        return _report(failure, name, out=out, err=err)
    result = outcome.value
    if isinstance(result, LocalResult):
        out.write(result.text)  # byte for byte what Kamal prints
        return 0
    out.write(f"{result.wire() if isinstance(result, Plan) and invocation.wire else result}\n")
    if isinstance(result, Plan) and not invocation.plan:
        err.write(f"{name}: nothing was run; add --yes to run it\n")
        return 1
    if isinstance(result, OperationResult) and not result.ok:
        from kamal_nb.engine.result import failed_hosts_message

        err.write(f"{name}: {failed_hosts_message(result.hosts)}\n")  # the error, short, after the report
        return 1
    return 0


def _follow(ctx: Context, invocation: cli_tree.Invocation, *, out: TextIO, err: TextIO) -> int:
    """`logs -f`, `exec --stream`: the lines as they come, until the command ends or is stopped."""
    from kamal_nb.cli_follow import follow_in_terminal
    from kamal_nb.ops import catalog

    try:
        followed = follow_in_terminal(ctx, invocation, out)
    except Exception as error:
        failure = catalog.failure_of(error, invocation.name)
        if failure is None:
            raise
        return _report(failure, f"kamal-nb {invocation.name}", out=out, err=err)
    err.write(followed.summary() + "\n")
    return 0 if followed.ok else 1


class _Signals:
    """SIGTERM (what a CI job's cancel sends) does what Ctrl-C does: a KeyboardInterrupt in the main
    thread, which hangs up the running commands and releases the lock the operation took. Once the
    operation has stopped, another signal ends the process at once, without a traceback."""

    def __init__(self) -> None:
        import signal
        import threading

        self.received = signal.SIGINT
        self._previous: dict[int, object] = {}
        if threading.current_thread() is not threading.main_thread():
            return  # signals are the main thread's (an in-process caller on another thread)
        for which in (signal.SIGINT, signal.SIGTERM):
            self._previous[which] = signal.signal(which, self._interrupt)

    def _interrupt(self, signum: int, frame: object) -> None:
        import signal

        self.received = signal.Signals(signum)
        raise KeyboardInterrupt

    def ending(self) -> None:
        import signal

        for which in self._previous:
            signal.signal(which, _exit_now)

    def restore(self) -> None:
        import signal

        for which, handler in self._previous.items():
            signal.signal(which, handler)  # type: ignore[arg-type]  # what signal.signal returned
        self._previous = {}


def _exit_now(signum: int, frame: object) -> None:
    import os

    os._exit(128 + signum)


def _interrupted(interrupt: KeyboardInterrupt, name: str, signum: int, *, out: TextIO, err: TextIO) -> int:
    """An operation stopped by Ctrl-C or SIGTERM: the per-host account, one line, 128 + the signal."""
    from kamal_nb.engine.record import OperationInterrupted
    from kamal_nb.ops.catalog import short
    from kamal_nb.redaction import redact

    out.flush()
    if isinstance(interrupt, OperationInterrupted):
        story = redact(str(interrupt))
        out.write(f"{interrupt.result}\n{story}\n")  # the per-host account in full; the error itself short
        err.write(f"{name}: {short(story)}\n")
    else:
        err.write(f"{name}: interrupted\n")
    err.flush()
    return 128 + int(signum)


def _report(failure: Failure, name: str, *, out: TextIO, err: TextIO) -> int:
    """One failure as the terminal shows it: what ran, host by host, then one line; a configuration
    error in Kamal's own framing (stdout), kamal_nb's location after it."""
    if failure.kind == "config":
        from kamal_nb.kamal_errors import report

        return report(failure.error, out)
    if failure.result is not None:
        out.write(f"{failure.result}\n")
    err.write(f"{name}: {failure.message}\n")
    return failure.exit_code
