"""The questions every Kamal CLI class asks of the fleet, in one place as `follow.py`'s logs are:
details (main, app, proxy, accessory), app containers/images/version, audit, and server exec.

They only read, so they share one fast path: each host's commands go out as one Batch (a question
about the fleet costs one round trip per host), and `kamal-nb details` imports nothing else of ops.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from kamal_nb.commands import Accessory, App, Auditor, Command, Proxy
from kamal_nb.engine import answers
from kamal_nb.engine.errors import Refused
from kamal_nb.engine.plan import Plan, PlannedStep
from kamal_nb.engine.result import OperationResult
from kamal_nb.fleet import Batch, GroupResult, Step
from kamal_nb.ops.arguments import NoArguments
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.session import Context


def _app_role_steps(ctx: Context, command: Callable[[App], Command]) -> list[PlannedStep]:
    """One step per app host and role on it (Kamal's `on_roles(KAMAL.roles, hosts: app_hosts)`)."""
    return [
        PlannedStep(host, command(App(ctx.config, role=role, host=host)), role=role.name)
        for host in ctx.selection.app_hosts
        for role in ctx.selection.roles_on(host)
    ]


def _app_details(ctx: Context) -> list[PlannedStep]:
    return _app_role_steps(ctx, lambda app: app.info())


def _proxy_details(ctx: Context) -> list[PlannedStep]:
    return [PlannedStep(host, Proxy(ctx.config, host=host).info()) for host in ctx.selection.proxy_hosts]


def _accessory_details(ctx: Context, name: str = "all") -> list[PlannedStep]:
    names = [a.name for a in ctx.config.accessories] if name == "all" else [name]
    steps = []
    for accessory_name in names:
        accessory = ctx.config.accessory(accessory_name)
        if accessory is None:
            raise Refused(f"No accessory by the name of '{accessory_name}'")
        command = Accessory(ctx.config, name=accessory_name).info()
        steps += [PlannedStep(h, command) for h in accessory.hosts if h in ctx.selection.hosts]
    return steps


def _version(ctx: Context) -> list[PlannedStep]:
    steps = []
    for host in ctx.selection.app_hosts:
        role = ctx.selection.roles_on(host)[0]
        steps.append(PlannedStep(host, App(ctx.config, role=role, host=host).current_running_version(), role=role.name))
    return steps


# a question's answer parsed from each host's output (its `data`): (name, plan, hosts) -> answers.Answer
Answering = Callable[[str, Plan, GroupResult], Any]


def _batched(
    name: str, planner: Callable[[Context, Any], Plan], answering: Answering | None = None
) -> Callable[[Context, Any], OperationResult]:
    """Run a read-only plan with each host's commands in one round trip."""

    def run(ctx: Context, args: Any) -> OperationResult:
        plan = planner(ctx, args)
        per_host: dict[str, list[Step]] = {}
        for step in plan.steps:
            per_host.setdefault(step.host, []).append(step.step)
        started = time.monotonic()
        batches: dict[str, list[Step]] = {
            host: [Batch(tuple(steps))] if len(steps) > 1 else steps  # type: ignore[arg-type]
            for host, steps in per_host.items()
        }
        result = ctx.runner.run(batches, stop_on_failure=False)
        data = answering(name, plan, result) if answering is not None else None
        return OperationResult(name, result, time.monotonic() - started, data=data)

    return run


def _read_only(
    path: tuple[str, ...],
    summary: str,
    planner: Callable[[Context, Any], list[PlannedStep]],
    arguments: type[Any] | None = None,
    answering: Answering | None = None,
) -> None:
    name = " ".join(path)

    def plan(ctx: Context, args: Any) -> Plan:
        return Plan(name, tuple(planner(ctx, args)))

    run = _batched(name, plan, answering)
    register(path, summary, mutating=False, plan=plan, run=run, arguments=arguments)


def _roles(plan: Plan) -> dict[str, str]:
    return {step.host: step.role for step in plan.steps if step.role}


def _containers(name: str, plan: Plan, hosts: GroupResult) -> Any:
    """The `docker ps` tables each host printed, as one table of containers."""
    return answers.containers(name, hosts)


_read_only(("details",), "Show details about all containers", lambda ctx, args: _details(ctx), NoArguments, _containers)
_read_only(
    ("app", "details"), "Show details about app containers", lambda ctx, args: _app_details(ctx), answering=_containers
)
_read_only(
    ("app", "containers"),
    "Show app containers on servers",
    lambda ctx, args: [PlannedStep(h, App(ctx.config).list_containers()) for h in ctx.selection.app_hosts],
    answering=_containers,
)
_read_only(
    ("app", "images"),
    "Show app images on servers",
    lambda ctx, args: [PlannedStep(h, App(ctx.config).list_images()) for h in ctx.selection.app_hosts],
    answering=lambda name, plan, hosts: answers.images(name, hosts),
)
_read_only(
    ("app", "version"),
    "Show app version currently running on servers",
    lambda ctx, args: _version(ctx),
    answering=lambda name, plan, hosts: answers.versions(name, hosts, _roles(plan)),
)
_read_only(
    ("proxy", "details"),
    "Show details about proxy container from servers",
    lambda ctx, args: _proxy_details(ctx),
    answering=_containers,
)
_read_only(
    ("accessory", "details"),
    "Show details about accessory on host (use NAME=all to show all accessories)",
    lambda ctx, args: _accessory_details(ctx, str(args.get("name") or "all")),
    answering=_containers,
)


def _details(ctx: Context) -> list[PlannedStep]:
    """`kamal details`: proxy, then app, then every accessory."""
    return [*_proxy_details(ctx), *_app_details(ctx), *_accessory_details(ctx)]


def _audit(ctx: Context) -> list[PlannedStep]:
    reveal = Auditor(ctx.config, recorded_at="", performer="").reveal()
    return [PlannedStep(h, reveal) for h in ctx.selection.hosts]


_read_only(("audit",), "Show audit log from servers", lambda ctx, args: _audit(ctx))


def _server_exec_steps(ctx: Context, args: Args) -> Plan:
    words = args.get("cmd") or ()
    command = " ".join(words) if not isinstance(words, str) else words
    if not command.strip():
        raise Refused("server exec needs a command to run")
    auditor = Auditor(ctx.config, recorded_at=ctx.session.now(), performer=ctx.session.performer)
    steps: list[PlannedStep] = []
    for host in ctx.selection.hosts:
        steps += [PlannedStep(host, auditor.record(f"Executed cmd '{command}' on {host}")), PlannedStep(host, command)]
    return Plan("server exec", tuple(steps))


register(
    ("server", "exec"),
    "Run a custom command on the server",
    mutating=False,
    plan=_server_exec_steps,
)
