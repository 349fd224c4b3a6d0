"""Every operation kamal_nb can plan and run, by its Kamal command path (`("app", "details")`).

The command line and the magics parse arguments into a path and a dict of arguments, then call
`attempt` (or Python code `perform`); they never reach into the operations themselves. An
operation may take typed arguments (a dataclass, `arguments=`): the dict is turned into it once,
here. `attempt` returns one `Outcome`: what the operation gave, or the `Failure` a user can act on,
mapped from the error here and nowhere else.
"""

from __future__ import annotations

import dataclasses
import importlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from kamal_nb.engine.plan import Plan
from kamal_nb.engine.result import OperationResult
from kamal_nb.ops.session import Context, Once

Args = Mapping[str, Any]
Planner = Callable[[Context, Any], Plan]  # the arguments: Args, or the operation's dataclass
Runner = Callable[[Context, Any], OperationResult]
Typed = TypeVar("Typed")

# Modules that register operations when imported (kept lazy: `%load_ext` stays cheap). The `state`
# operation (kamal_nb.state.operation) sits above ops: the views import it, ops never name it.
OPERATION_MODULES: tuple[str, ...] = (
    "kamal_nb.ops.questions",
    "kamal_nb.ops.lock.deploy_lock",
)

# Build, deploy, redeploy, rollback, app boot, stale containers, prune, proxy boot, env push, setup.
DEPLOY_MODULES = (
    "kamal_nb.ops.build.deliver",
    "kamal_nb.ops.proxy.boot",
    "kamal_nb.ops.prune",
    "kamal_nb.ops.app.boot",
    "kamal_nb.ops.app.stale",
    "kamal_nb.ops.main.deploy",
    "kamal_nb.ops.main.rollback",
    "kamal_nb.ops.env",
    "kamal_nb.ops.main.setup",
)

# Kamal's other commands: accessories, proxy and app lifecycle, registry, remove, server bootstrap,
# hidden app removes, proxy boot_config, and the 1.x -> 2.0 upgrade.
LIFECYCLE_MODULES = (
    "kamal_nb.ops.accessory",
    "kamal_nb.ops.proxy.lifecycle",
    "kamal_nb.ops.app.lifecycle",
    "kamal_nb.ops.registry",
    "kamal_nb.ops.main.remove",
    "kamal_nb.ops.server",
    "kamal_nb.ops.app.removes",
    "kamal_nb.ops.proxy.boot_config",
    "kamal_nb.ops.main.upgrade",
)


# Kamal's commands that run on this machine only: init, docs, secrets, the buildx build setup.
LOCAL_MODULES = (
    "kamal_nb.ops.main.init",
    "kamal_nb.ops.main.docs",
    "kamal_nb.ops.secrets",
    "kamal_nb.ops.build.buildx",
)


class UnknownOperation(LookupError):
    pass


@dataclass(frozen=True)
class Operation:
    path: tuple[str, ...]
    summary: str
    mutating: bool
    plan: Planner
    run: Runner
    # for a command that changes hosts only with some options (`app stale_containers --stop`)
    mutating_when: Callable[[Args], bool] | None = None
    # answers with text and touches no host (init, docs, secrets): shown as a result, no live view
    local: bool = False
    arguments: type[Any] | None = None  # the dataclass its plan and run take (else the dict)

    @property
    def name(self) -> str:
        return " ".join(self.path)

    def changes_hosts(self, args: Args) -> bool:
        """Whether running it with these arguments changes hosts (and so needs --yes)."""
        return self.mutating_when(args) if self.mutating_when is not None else self.mutating

    def typed(self, args: Args) -> Any:
        """The arguments as the plan and run take them: the operation's dataclass, when it has one."""
        return typed_arguments(self.arguments, args, self.name) if self.arguments is not None else args

    def planned(self, ctx: Context, args: Args) -> Plan:
        return self.plan(ctx, self.typed(args))

    def ran(self, ctx: Context, args: Args) -> OperationResult:
        return self.run(ctx, self.typed(args))


def typed_arguments(kind: type[Typed], args: Args, name: str) -> Typed:
    """`args` as a `kind` dataclass; a key it has no field for is refused (one line)."""
    from kamal_nb.engine.errors import Refused

    names = {f.name for f in dataclasses.fields(kind)}  # type: ignore[arg-type]
    unknown = sorted(set(args) - names)
    if unknown:
        raise Refused(f"kamal {name} takes no argument {', '.join(unknown)}")
    return kind(**{k: v for k, v in args.items() if v is not None})


_CATALOG: dict[tuple[str, ...], Operation] = {}


def register(
    path: tuple[str, ...],
    summary: str,
    *,
    mutating: bool,
    plan: Planner,
    run: Runner | None = None,
    mutating_when: Callable[[Args], bool] | None = None,
    local: bool = False,
    arguments: type[Any] | None = None,
) -> Operation:
    """Add an operation. Without `run`, running executes the plan as it stands."""
    operation = Operation(
        path, summary, mutating, plan, run or executing(plan, " ".join(path)), mutating_when, local, arguments
    )
    _CATALOG[path] = operation
    return operation


def executing(planner: Planner, name: str) -> Runner:
    """The run of an operation whose plan is its value: every planned step sent as it stands."""

    def run(ctx: Context, args: Any) -> OperationResult:
        from kamal_nb.engine.run import run_steps

        plan = planner(ctx, args)
        return run_steps(ctx, name, lambda: ctx.execute(plan))  # an interrupt gives the per-host account

    return run


def catalog() -> dict[tuple[str, ...], Operation]:
    for module in (*OPERATION_MODULES, *DEPLOY_MODULES, *LIFECYCLE_MODULES, *LOCAL_MODULES):
        importlib.import_module(module)
    return dict(_CATALOG)


def lookup(path: tuple[str, ...]) -> Operation:
    # the modules are imported in order until one has registered `path`: a fleet question as a
    # process (`kamal-nb details`) imports neither the deploy nor the lifecycle operations
    operation = _CATALOG.get(path)
    for module in (*OPERATION_MODULES, *DEPLOY_MODULES, *LIFECYCLE_MODULES, *LOCAL_MODULES):
        if operation is not None:
            break
        importlib.import_module(module)
        operation = _CATALOG.get(path)
    if operation is None:
        raise UnknownOperation(f"kamal_nb has no operation `{' '.join(path)}`")
    return operation


def perform(
    ctx: Context, path: tuple[str, ...], args: Args | None = None, *, yes: bool = False
) -> Plan | OperationResult:
    """Run the operation, or, when it changes hosts and `yes` is not given, return its plan."""
    operation = lookup(path)
    arguments = dict(args or {})
    changes_hosts = operation.changes_hosts(arguments)
    if changes_hosts and not yes:
        from kamal_nb.engine.plan import CONFIRM

        plan = operation.planned(ctx, arguments)
        return dataclasses.replace(plan, notes=(*plan.notes, CONFIRM), version=_version(ctx))
    if not operation.local:
        ctx.before_connect = Once(lambda: pre_connect(ctx, path))
    if not changes_hosts:
        return operation.ran(ctx, arguments)
    from kamal_nb.ops.runlog import record_run

    started_at, started = ctx.session.now(), time.monotonic()
    try:
        result = operation.ran(ctx, arguments)
    except BaseException as error:
        record_run(ctx, path, arguments, started=started_at, duration=time.monotonic() - started, error=error)
        raise
    record_run(ctx, path, arguments, started=started_at, duration=time.monotonic() - started, result=result)
    if isinstance(result, OperationResult) and not result.changes:
        result = dataclasses.replace(result, changes=True)  # its host output is a log, not the answer
    return result


FailureKind = Literal["unknown", "selection", "config", "refused", "hosts", "interrupted"]


@dataclass(frozen=True)
class Failure:
    """Why an operation did not do what was asked, in words a user can act on (secrets redacted).
    `error` keeps the exception (and its traceback) for whoever wants it."""

    kind: FailureKind
    message: str
    error: BaseException
    result: OperationResult | None = None  # "hosts": what ran, host by host

    @property
    def exit_code(self) -> int:
        """Kamal's: 2 for arguments the command line cannot use, 130 for Ctrl-C (a shell's), 1 for the rest."""
        return {"selection": 2, "interrupted": 130}.get(self.kind, 1)


@dataclass(frozen=True)
class Outcome:
    """What `attempt` gives: the plan or result, or the failure (never both)."""

    value: Plan | OperationResult | None = None
    failure: Failure | None = None


INTERRUPTED = (
    "interrupted: stopped where it was; `kamal details` and `kamal lock status` show what the hosts are left with"
)


def failure_of(error: BaseException, operation: str) -> Failure | None:
    """The one mapping of errors users cause or meet to failures, each message at most three lines
    (`short`); None for anything else (a bug), which keeps its traceback."""
    from kamal_nb.config.errors import ConfigError
    from kamal_nb.config.secret_adapters import AdapterError
    from kamal_nb.engine.errors import OperationError
    from kamal_nb.fleet import HostFailures
    from kamal_nb.ops.selection import SelectionError
    from kamal_nb.redaction import redact

    if isinstance(error, KeyboardInterrupt):
        # an operation's own interrupt says what was done, host by host, and whether the lock was released
        story = str(error) if str(error).startswith("kamal ") else ""
        return Failure("interrupted", short(redact(story)) if story else INTERRUPTED, error)
    if isinstance(error, UnknownOperation):
        return Failure("unknown", "not available in kamal_nb yet", error)
    if isinstance(error, SelectionError):
        return Failure("selection", short(redact(str(error))), error)
    if isinstance(error, OperationError | AdapterError):  # a held lock, a failed hook or build, a refusal
        return Failure("refused", short(redact(str(error))), error)
    if isinstance(error, ConfigError):
        return Failure("config", short(redact(str(error))), error)
    if isinstance(error, HostFailures):
        from kamal_nb.engine.result import failed_hosts_message

        return Failure(
            "hosts", redact(failed_hosts_message(error.result)), error, OperationResult(operation, error.result)
        )
    return None


def short(message: str, *, width: int = 240) -> str:
    """A message in at most three lines: its first line, then the rest on one line (the end of it
    when it is long: a hook's or a command's last words say why)."""
    first, *rest = message.strip().splitlines() or [""]
    rest = [line.strip() for line in rest if line.strip()]
    if len(rest) <= 2:
        return "\n".join([first, *rest])
    joined = " · ".join(rest)
    return f"{first}\n{joined if len(joined) <= width else '…' + joined[-width:]}"


def attempt(
    ctx: Context, path: tuple[str, ...], args: Args | None = None, *, yes: bool = False, plan_only: bool = False
) -> Outcome:
    """`perform` (or, with `plan_only`, the plan), with the errors a user can act on as a Failure."""
    try:
        if plan_only:
            return Outcome(lookup(path).planned(ctx, dict(args or {})))
        return Outcome(perform(ctx, path, args, yes=yes))
    except (Exception, KeyboardInterrupt) as error:
        failure = failure_of(error, " ".join(path))
        if failure is None:
            raise
        return Outcome(failure=failure)


def _version(ctx: Context) -> str | None:
    """The version the command works with, for the summary of what it would do (None if unknown)."""
    try:
        return str(ctx.version)
    except Exception:  # no git, no --version: the summary simply does not say
        return None


def pre_connect(ctx: Context, path: tuple[str, ...]) -> None:
    """Hook `pre-connect`, with the secrets: Kamal runs it once per command (a process), just before
    its first SSH connection (so not when the arguments were refused first)."""
    from kamal_nb.engine.hooks import run_hook

    run_hook(ctx, "pre-connect", command=path[0], subcommand=path[1] if len(path) > 1 else None, secrets=True)
