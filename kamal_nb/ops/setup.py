"""`kamal setup` (cli/main.rb): under one deploy lock, check Docker on every host, hook
docker-setup, then deploy with the accessories booted after the proxy.

Kamal installs Docker where it is missing (get.docker.com); kamal_nb reports the hosts without
Docker and stops before changing anything: the hosts it targets often have no internet access, and
installing software is a decision for their operators.
"""

from __future__ import annotations

from kamal_nb.commands import Docker
from kamal_nb.engine.run import run_operation
from kamal_nb.ops.arguments import DeployArguments
from kamal_nb.ops.catalog import register
from kamal_nb.ops.deploy import deploy_plan, deploy_steps, hook_step, lock_plan
from kamal_nb.ops.hooks import run_hook
from kamal_nb.ops.lock import holding
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, send

INSTALL_DOCS = "https://docs.docker.com/engine/install/"


def missing_docker_message(hosts: list[str]) -> str:
    return (
        f"Docker is not installed on {', '.join(hosts)}; kamal_nb does not install it (Kamal would fetch "
        f"https://get.docker.com). Install Docker manually: {INSTALL_DOCS}"
    )


def check_docker(ctx: Context, rec: Recorder) -> bool:
    """`docker -v` on every host; False (with the hosts named) where Docker is missing."""
    replies = send(ctx, rec, {h: [Cmd(Docker(ctx.config).installed(), strict=False)] for h in ctx.selection.hosts})
    missing = [host for host, reply in replies.items() if reply.error is None and reply.code(0) != 0]
    for host, reply in replies.items():
        if reply.error is not None:
            rec.fail(host, reply.error)
    if missing:
        message = missing_docker_message(missing)
        rec.say(message)
        for host in missing:
            rec.fail(host, message)
    return not missing and not rec.failures


def setup_steps(ctx: Context, rec: Recorder, *, skip_push: bool, no_cache: bool) -> bool:
    with holding(ctx, rec):
        rec.say("Ensure Docker is installed...")
        if not check_docker(ctx, rec):
            return False
        run_hook(ctx, "docker-setup", command="setup")
        return deploy_steps(
            ctx, rec, command="setup", skip_push=skip_push, no_cache=no_cache, full=True, accessories=True
        )


def _plan(ctx: Context, args: DeployArguments) -> Plan:
    take, release = lock_plan(ctx)
    check = [
        PlannedStep(h, Docker(ctx.config).installed(), note="Docker missing: stop and say where")
        for h in ctx.selection.hosts
    ]
    ctx.holding_lock = True  # the inner deploy runs under setup's lock
    try:
        deploy = deploy_plan(ctx, operation="setup", skip_push=args.skip_push, full=True, accessories=True)
    finally:
        ctx.holding_lock = False
    steps = [*take, *check, hook_step("docker-setup"), *deploy.steps, *release]
    return Plan("setup", tuple(steps), deploy.notes)


def _run(ctx: Context, args: DeployArguments) -> OperationResult:
    return run_operation(
        ctx,
        "setup",
        lambda rec: setup_steps(ctx, rec, skip_push=args.skip_push, no_cache=args.no_cache),
    )


register(
    ("setup",),
    "Setup all accessories, push the env, and deploy app to servers",
    mutating=True,
    plan=_plan,
    run=_run,
    arguments=DeployArguments,
)
