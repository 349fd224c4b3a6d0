"""``%kamal`` and ``%%kamal``: Kamal's command line in a notebook.

Parsing is :mod:`kamal_nb.cli_tree` (the same tree as the ``kamal-nb`` script); running goes
through the operation catalog (``kamal_nb.ops.catalog``), imported on the first command so that
``%load_ext kamal_nb`` stays cheap. Results are returned (``x = %kamal app details``), and shown by
IPython when not assigned; failures are shown, then raised with a short traceback.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class, needs_local_scope, no_var_expand
from traitlets import Bool, CaselessStrEnum, Float, Int, TraitError, Unicode, validate

from kamal_nb import cli_tree
from kamal_nb.notebook import lexer

if TYPE_CHECKING:
    from kamal_nb.ops.catalog import Operation
    from kamal_nb.ops.session import Context, Session


class TextResult:
    """Text a local command prints (``config``, ``version``), readable everywhere."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": self.text, "text/html": f"<pre>{html.escape(self.text)}</pre>"}


class PendingOperation:
    """A mutating command given without ``--yes``: its plan, and a way to run it once.

    ``run()`` (or the confirm button in a live notebook) runs the operation and returns its result;
    a second call returns the same result without running anything again.
    """

    def __init__(self, name: str, plan: Any, runner: Callable[[Any], Any]) -> None:
        self.name = name
        self.plan = plan
        self._runner = runner
        self.result: Any = None
        self.ran = False
        self.panel: Any = None  # the confirm panel, when widgets are on

    def run(self, into: Any = None) -> Any:
        if not self.ran:
            self.ran = True
            self.result = self._runner(into)
        return self.result

    def __str__(self) -> str:
        return str(self.plan)

    def __repr__(self) -> str:
        return str(self.plan)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        if self.panel is None:
            return dict(self.plan._repr_mimebundle_())
        # the summary and the plan were displayed already, as static text and HTML (a saved notebook
        # and its HTML export keep them, whether or not widget state is saved): here, the button
        line = f"kamal {self.name}: nothing was run; press Run kamal {self.name}, or add --yes"
        widget = self.panel.box._repr_mimebundle_()
        return {
            "text/plain": line,
            "text/html": f"<p>{html.escape(line)}</p>",
            "application/vnd.jupyter.widget-view+json": widget["application/vnd.jupyter.widget-view+json"],
        }


@magics_class
class KamalMagics(Magics):
    """The ``%kamal`` magics; settings with ``%config KamalMagics.<name> = value``."""

    config_file = Unicode("config/deploy.yml", help="deploy.yml to use when -c is not given").tag(config=True)
    destination = Unicode(None, allow_none=True, help="Destination when -d is not given (None: none)").tag(config=True)
    yes = Bool(False, help="Run commands that change hosts without --yes (headless runbooks)").tag(config=True)
    parallelism = Int(0, help="Hosts worked on at once (0: deploy.yml's sshkit.max_concurrent_starts)").tag(config=True)
    command_timeout = Float(None, allow_none=True, help="Seconds a remote command may run (None: no limit)").tag(
        config=True
    )
    connect_timeout = Float(30.0, help="Seconds to wait for an SSH connection").tag(config=True)
    keepalive_interval = Float(
        15.0, help="Seconds of silence after which a host is asked for an answer (OpenSSH's ServerAliveInterval)"
    ).tag(config=True)
    keepalive_count_max = Int(
        3, help="Unanswered keepalives after which a host is lost (ServerAliveCountMax): 15 s x 3 = 45 s"
    ).tag(config=True)
    display_limit = Int(1000, help="Output lines shown live per host (0: all); results keep everything").tag(
        config=True
    )
    follow_limit = Float(
        900.0, help="Seconds a follow (logs -f, exec --stream) or a watch runs at most without --for (0: no limit)"
    ).tag(config=True)
    widgets = CaselessStrEnum(
        ["auto", "on", "off"], "auto", help="Live widgets: auto (in a kernel with ipywidgets), on, or off (text)"
    ).tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self._parser: cli_tree.KamalArgumentParser | None = None
        self._sessions: dict[Path, Session] = {}
        self.last_view: Any = None  # the live view of the last operation run (widgets or text)

    @validate("keepalive_count_max")
    def _at_least_one(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 1:
            raise TraitError(f"keepalive_count_max must be at least 1 ({value})")
        return value

    @validate("parallelism", "display_limit")
    def _non_negative(self, proposal: Any) -> int:
        value = int(proposal["value"])
        if value < 0:
            raise TraitError(f"{proposal['trait'].name} cannot be negative ({value})")
        return value

    @validate("command_timeout", "connect_timeout", "keepalive_interval")
    def _positive(self, proposal: Any) -> float | None:
        value = proposal["value"]
        if value is not None and value <= 0:
            raise TraitError(f"{proposal['trait'].name} must be positive ({value})")
        return value  # type: ignore[no-any-return]

    # -- the magics --------------------------------------------------------------------------------

    @no_var_expand
    @needs_local_scope
    @line_cell_magic
    def kamal(self, line: str, cell: str | None = None, local_ns: Mapping[str, Any] | None = None) -> Any:
        namespace = {**self.user_ns, **(local_ns or {})}
        if cell is None:
            return self._line(line, namespace)
        return self._cell(line, cell, namespace)

    def _line(self, line: str, namespace: Mapping[str, Any]) -> Any:
        invocation = self._parse(line, namespace)
        if isinstance(invocation, str):
            print(invocation, end="" if invocation.endswith("\n") else "\n")
            return None
        result = self.execute(invocation)
        if self._failed(result):
            self._display(result)
            from kamal_nb.notebook.errors import KamalOperationFailed

            raise KamalOperationFailed(result)
        return result

    def _cell(self, line: str, cell: str, namespace: Mapping[str, Any]) -> None:
        out_name, cell_given, cell_yes = self._parse_cell_line(line, namespace)
        steps: list[tuple[int, cli_tree.Invocation | str]] = []
        for number, text in _body_lines(cell):
            try:
                parsed = self._parse(text, namespace)
            except UsageError as error:
                raise UsageError(f"line {number}: {error}") from None
            if isinstance(parsed, cli_tree.Invocation):
                parsed = cli_tree.Invocation(
                    parsed.path, parsed.args, {**cell_given, **parsed.given}, parsed.yes or cell_yes, parsed.plan
                )
            steps.append((number, parsed))
        for index, (_number, step) in enumerate(steps):
            if isinstance(step, str):
                print(step, end="" if step.endswith("\n") else "\n")
                continue
            result = self.execute(step)
            if out_name:
                self.user_ns[out_name] = result
            self._display(result)
            if self._failed(result):
                from kamal_nb.notebook.errors import KamalOperationFailed

                raise KamalOperationFailed(result)
            if isinstance(result, PendingOperation):
                left = len(steps) - index - 1
                if left:
                    print(f"stopped: `kamal {step.name}` needs --yes; {left} later command(s) not run")
                return

    # -- parsing -----------------------------------------------------------------------------------

    @property
    def parser(self) -> cli_tree.KamalArgumentParser:
        if self._parser is None:
            self._parser = cli_tree.build_parser("%kamal")
        return self._parser

    def _parse(self, line: str, namespace: Mapping[str, Any]) -> cli_tree.Invocation | str:
        """An invocation, or help text to print; bad input raises a one-line UsageError."""
        try:
            words = lexer.split(line, namespace)
            return cli_tree.parse(words, parser=self.parser)
        except cli_tree.HelpRequested as help:
            return help.text
        except (cli_tree.ParseError, lexer.LexError) as error:
            raise UsageError(str(error)) from None

    def _parse_cell_line(self, line: str, namespace: Mapping[str, Any]) -> tuple[str | None, dict[str, Any], bool]:
        """``%%kamal [--out NAME] [-y] [global options]``: options for every command of the cell."""
        try:
            words = lexer.split(line, namespace)
        except lexer.LexError as error:
            raise UsageError(f"%%kamal: {error}") from None
        out_name: str | None = None
        yes = False
        rest: list[str] = []
        i = 0
        while i < len(words):
            word = words[i]
            if word == "--out" or word.startswith("--out="):
                if "=" in word:
                    out_name = word.split("=", 1)[1]
                elif i + 1 < len(words):
                    out_name, i = words[i + 1], i + 1
                else:
                    raise UsageError("%%kamal: --out needs a variable name")
                if not out_name.isidentifier():
                    raise UsageError(f"%%kamal: --out {out_name!r} is not a Python name")
            elif word in ("-y", "--yes", "--confirmed"):
                yes = True
            else:
                rest.append(word)
            i += 1
        given: dict[str, Any] = {}
        if rest:
            # global options only: parse them as options of a read-only command
            try:
                invocation = cli_tree.parse(["details", *rest], parser=self.parser)
            except cli_tree.HelpRequested:
                raise UsageError("%%kamal: the cell line takes --out NAME, -y and global options only") from None
            except cli_tree.ParseError as error:
                raise UsageError(str(error).replace("%kamal details", "%%kamal", 1)) from None
            given = dict(invocation.given)
        return out_name, given, yes

    # -- running -----------------------------------------------------------------------------------

    def session(self) -> Session:
        """The session of the current directory (loaded configs, warm SSH connections)."""
        from kamal_nb.ops.session import Session

        root = Path.cwd()
        session = self._sessions.get(root)
        if session is None:
            from kamal_nb.sandbox.backend import backend_from_env

            try:
                backend = backend_from_env()  # the views choose the backend, ops never do
            except ValueError as error:
                raise UsageError(f"kamal: {error}") from None
            session = self._sessions[root] = Session(root=root, backend=backend)
        session.command_timeout = self.command_timeout
        session.connect_timeout = self.connect_timeout
        session.keepalive_interval = self.keepalive_interval
        session.keepalive_count_max = self.keepalive_count_max
        session.parallelism = self.parallelism
        return session

    def close(self) -> None:
        sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def defaults(self) -> dict[str, Any]:
        return {"config_file": self.config_file, "destination": self.destination}

    def execute(self, invocation: cli_tree.Invocation) -> Any:
        """Plan, run, or hold (needs --yes) one command; returns what to show."""
        import kamal_nb.state.operation  # noqa: F401 (registers `state` in the catalog: state sits above ops)
        from kamal_nb.ops import catalog

        session = self.session()
        ctx = session.context(invocation.options(self.defaults()))
        args = dict(invocation.args)
        live = self._live_command(invocation, ctx)
        if live is not None:
            return live
        try:
            operation = catalog.lookup(invocation.path)
        except catalog.UnknownOperation:
            local = self._local(invocation, ctx)
            if local is not None:
                return local
            raise UsageError(f"`kamal {invocation.name}` is not available in kamal_nb yet") from None
        if invocation.plan:
            plan = self._guard(invocation, lambda: operation.planned(ctx, args))
            return TextResult(plan.wire()) if invocation.wire else plan
        if operation.local:
            # text from this machine (init, docs, secrets): no hosts to show live
            return self._guard(invocation, lambda: catalog.perform(ctx, invocation.path, args, yes=True))
        if operation.changes_hosts(args) and not (invocation.yes or self.yes):
            plan = self._guard(invocation, lambda: catalog.perform(ctx, invocation.path, args, yes=False))
            return self._pending(invocation, operation, ctx, plan)
        return self._run(invocation, operation, ctx)

    def _live_command(self, invocation: cli_tree.Invocation, ctx: Context) -> Any:
        """``logs -f``, ``exec --stream`` and ``watch``: live until stopped (kamal_nb.notebook.follow,
        kamal_nb.notebook.watch); None for every other command."""
        from kamal_nb.ops.follow import streams

        if invocation.plan:
            return None
        widgets, limit = self.widgets_live(), self.follow_limit or None
        if streams(invocation.path, invocation.args):
            from kamal_nb.notebook.follow import run_follow

            run = run_follow
        elif invocation.path == ("watch",):
            from kamal_nb.notebook.watch import run_watch

            run = run_watch
        else:
            return None

        def shown(view: Any) -> None:
            self.last_view = view

        return self._guard(
            invocation,
            lambda: run(ctx, invocation, widgets=widgets, line_limit=self.display_limit, limit=limit, on_view=shown),
        )

    def _run(self, invocation: cli_tree.Invocation, operation: Operation, ctx: Context, into: Any = None) -> Any:
        """Run with a live view: widgets (displayed, or added to ``into``) or text lines."""
        from kamal_nb.ops import catalog

        args = dict(invocation.args)
        view: Any
        handle: Any = None
        if self.widgets_live():
            from kamal_nb.notebook.widgets import WidgetView

            hosts, steps = self._expected(operation, ctx, args)
            view = WidgetView(invocation.name, hosts, steps, line_limit=self.display_limit)
            if into is not None:
                into.add(view.box)
            else:
                handle = _show(view.box, display_id=True)
        else:
            from kamal_nb.text_view import TextView

            view = TextView(quiet=ctx.options.quiet, verbose=ctx.options.verbose, line_limit=self.display_limit)
        self.last_view = view
        unsubscribe = ctx.session.events.subscribe(view)
        state = "interrupted"
        result: Any = None
        try:
            result = self._guard(invocation, lambda: catalog.perform(ctx, invocation.path, args, yes=True))
            state = "failed" if self._failed(result) else "done"
        finally:
            unsubscribe()
            if hasattr(view, "finish"):
                view.finish(_outcomes(result), state)
                if handle is not None:
                    handle.update(view.box)
        return result

    def _pending(self, invocation: cli_tree.Invocation, operation: Operation, ctx: Context, plan: Any) -> Any:
        pending = PendingOperation(invocation.name, plan, lambda into: self._run(invocation, operation, ctx, into))
        if self.widgets_live():
            from kamal_nb.notebook.widgets import ConfirmPanel

            def confirmed(panel: ConfirmPanel) -> str:
                result = pending.run(panel)
                panel.add_display(result, self._format)
                if self._failed(result):
                    return f"❌ kamal {invocation.name} failed"
                return f"✅ kamal {invocation.name} done"

            pending.panel = ConfirmPanel(f"Run kamal {invocation.name}", confirmed)
            _show(plan)  # summary first, the plan collapsed under it: static output, then the button
        return pending

    @staticmethod
    def _expected(operation: Operation, ctx: Context, args: dict[str, Any]) -> tuple[list[str], dict[str, int]]:
        """Hosts and step counts from the plan, for the progress bars (nothing if it cannot say)."""
        try:
            plan = operation.planned(ctx, args)
            return list(plan.hosts), {host: len(plan.for_host(host)) for host in plan.hosts}
        except Exception:
            return [], {}

    def _guard(self, invocation: cli_tree.Invocation, call: Callable[[], Any]) -> Any:
        """Show the failures users cause as short errors (the catalog's one mapping, `failure_of`);
        let bugs through with their traceback."""
        from kamal_nb.notebook.errors import KamalError, KamalOperationFailed
        from kamal_nb.ops import catalog
        from kamal_nb.redaction import forget_locals

        try:
            return call()
        except (Exception, KeyboardInterrupt) as error:
            forget_locals(error)  # what a verbose traceback or a debugger would print: secrets among them
            failure = catalog.failure_of(error, invocation.name)
            if failure is None:
                raise
        # the error stays as __cause__ (its traceback with it); IPython shows _render_traceback_ only
        if failure.kind in ("unknown", "selection"):
            raise UsageError(f"kamal {invocation.name}: {failure.message}") from failure.error
        if failure.result is not None:
            self._display(failure.result)
            raise KamalOperationFailed(failure.result) from failure.error
        raise KamalError(f"kamal {invocation.name}: {failure.message}") from failure.error

    def _local(self, invocation: cli_tree.Invocation, ctx: Context) -> Any:
        """Commands that need no operation: ``config`` (the YAML) and ``version``."""
        from kamal_nb import KAMAL_COMPAT_VERSION, __version__

        if invocation.path == ("version",):
            return TextResult(f"kamal-nb {__version__} (Kamal {KAMAL_COMPAT_VERSION})")
        if invocation.path == ("config",):
            from kamal_nb.cli_config import render_config
            from kamal_nb.notebook.config_view import ConfigView

            return self._guard(invocation, lambda: ConfigView(ctx.config, render_config(ctx.config)))
        return None

    # -- display -----------------------------------------------------------------------------------

    def widgets_live(self) -> bool:
        if self.widgets == "off":
            return False
        if self.widgets == "on":
            return True
        if getattr(self.shell, "kernel", None) is None:
            return False
        try:
            import ipywidgets  # noqa: F401
        except ImportError:  # pragma: no cover - a dependency, but a broken install should degrade
            return False
        return True

    @staticmethod
    def _failed(result: Any) -> bool:
        ok = getattr(result, "ok", True)
        return hasattr(result, "hosts") and ok is False

    @property
    def user_ns(self) -> dict[str, Any]:
        return self.shell.user_ns if self.shell is not None else {}

    def _format(self, obj: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        shell: Any = self.shell
        data, metadata = shell.display_formatter.format(obj)
        return data, metadata

    @staticmethod
    def _display(obj: Any) -> None:
        if obj is not None:
            _show(obj)


def _show(obj: Any, **kwargs: Any) -> Any:
    from IPython.display import display

    return display(obj, **kwargs)  # type: ignore[no-untyped-call]


def _outcomes(result: Any) -> dict[str, tuple[bool, str]] | None:
    hosts = getattr(result, "hosts", None)
    if hosts is None or not hasattr(hosts, "items"):
        return None
    return {host: (r.ok, r.failure or "") for host, r in hosts.items()}


def _body_lines(cell: str) -> list[tuple[int, str]]:
    """The cell's commands with their line numbers: blank lines and ``#`` comments skipped,
    a trailing backslash continues a command on the next line."""
    commands: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(cell.splitlines(), 1):
        text = raw.strip()
        if not pending and (not text or text.startswith("#")):
            continue
        if not pending:
            start = number
        if text.endswith("\\") and not text.endswith("\\\\"):
            pending.append(text[:-1])
            continue
        pending.append(text)
        commands.append((start, " ".join(pending)))
        pending = []
    if pending:
        commands.append((start, " ".join(pending)))
    return commands


_DOC = """Run Kamal 2 commands on the fleet of config/deploy.yml.

Line magic (one command; returns its result)::

    %kamal details
    state = %kamal app details -r web
    %kamal plan deploy --version {{release}}      # what would run, nothing runs
    %kamal deploy --version {{release}} --yes     # live per-host output, then a summary
    %kamal server exec 'echo {{x}}'               # quoted: sent as written, {{x}} kept
    %kamal help app logs                          # help for one command

Cell magic (a runbook block: one command per line, run in order, stopping at the first failure)::

    %%kamal -d staging --out last
    lock acquire -m "maintenance window" --yes
    app maintenance --yes
    app details

``{{name}}`` outside quotes expands a Python variable (``{{{{`` is a literal brace). Commands that
change hosts need ``-y/--yes``: without it they show their plan (and a confirm button in a live
notebook). A failure shows the summary, then raises, so Run All and papermill stop.

Global options (after the command, as in Kamal): -c/--config-file, -d/--destination, -r/--roles,
-h/--hosts (so help is --help), -p/--primary, --version, -v, -q, -H/--skip-hooks, --lock-wait,
--lock-wait-timeout, --lock-wait-interval. Settings: ``%config KamalMagics``.

Commands:
{commands}
"""

KamalMagics.kamal.__doc__ = _DOC.format(commands=cli_tree.overview())
