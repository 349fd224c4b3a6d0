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
from typing import TextIO

from kamal_nb import cli_tree


def build_parser() -> argparse.ArgumentParser:
    """The command tree (as ``kamal-nb``)."""
    return cli_tree.build_parser("kamal-nb")


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None, err: TextIO | None = None) -> int:
    out = out or sys.stdout
    err = err or sys.stderr
    words = list(sys.argv[1:] if argv is None else argv)
    try:
        invocation = cli_tree.parse(words, prog="kamal-nb")
    except cli_tree.HelpRequested as help:
        out.write(help.text)
        return 0
    except cli_tree.ParseError as error:
        err.write(error.usage)
        err.write(f"{error}\n")
        return 2
    if invocation.path == ("config",) and not invocation.plan:
        from kamal_nb.cli_config import run_config_command

        options = invocation.options()
        namespace = argparse.Namespace(
            config_file=options.config_file, destination=options.destination, app_version=options.version
        )
        return run_config_command(namespace, out=out, err=err)
    return run(invocation, out=out, err=err)


def run(invocation: cli_tree.Invocation, *, out: TextIO, err: TextIO, root: Path | None = None) -> int:
    """Run one parsed command against a session in ``root`` (the current directory)."""
    from kamal_nb.notebook.live import TextView
    from kamal_nb.ops import catalog
    from kamal_nb.ops.local_result import LocalResult
    from kamal_nb.ops.plan import Plan
    from kamal_nb.ops.result import OperationResult
    from kamal_nb.ops.session import Session

    name = f"kamal-nb {invocation.name}"
    if invocation.path == ("version",):
        from kamal_nb import KAMAL_COMPAT_VERSION, __version__

        out.write(f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})\n")
        return 0
    session = Session(root=root or Path.cwd())
    ctx = session.context(invocation.options())
    view = TextView(out, quiet=ctx.options.quiet, verbose=ctx.options.verbose)
    unsubscribe = session.events.subscribe(view)
    try:
        outcome = catalog.attempt(
            ctx, invocation.path, dict(invocation.args), yes=invocation.yes, plan_only=invocation.plan
        )
    finally:
        unsubscribe()
        session.close()
    failure = outcome.failure
    if failure is not None:
        if failure.result is not None:
            out.write(f"{failure.result}\n")
        prefix = "ConfigError: " if failure.kind == "config" else ""
        err.write(f"{name}: {prefix}{failure.message}\n")
        return failure.exit_code
    result = outcome.value
    if isinstance(result, LocalResult):
        out.write(result.text)  # byte for byte what Kamal prints
        return 0
    out.write(f"{result}\n")
    if isinstance(result, Plan) and not invocation.plan:
        err.write(f"{name}: nothing was run; add --yes to run it\n")
        return 1
    if isinstance(result, OperationResult) and not result.ok:
        return 1
    return 0
