"""`kamal setup` (cli/main.rb): under one deploy lock, check Docker on every host, hook
docker-setup, then deploy with the accessories booted after the proxy.

Kamal installs Docker where it is missing (get.docker.com); kamal_nb reports the hosts without
Docker and stops before changing anything: the hosts it targets often have no internet access, and
installing software is a decision for their operators.
"""

from __future__ import annotations

from kamal_nb.commands import Docker
from kamal_nb.engine.script import Hold, Invoke
from kamal_nb.ops.arguments import DeployArguments
from kamal_nb.ops.main.deploy import deploy_script
from kamal_nb.ops.script import Answers, Do, Gate, Phase, RunHook, Say, Script, Verdict, register_script
from kamal_nb.ops.session import Context

INSTALL_DOCS = "https://docs.docker.com/engine/install/"
DOCKER = "docker -v"


def missing_docker_message(hosts: list[str]) -> str:
    return (
        f"Docker is not installed on {', '.join(hosts)}; kamal_nb does not install it (Kamal would fetch "
        f"https://get.docker.com). Install Docker manually: {INSTALL_DOCS}"
    )


def setup_script(ctx: Context, args: DeployArguments) -> Script:
    hosts = ctx.selection.hosts
    check = Do(Docker(ctx.config).installed(), tolerate=True, capture=DOCKER, note="Docker missing: stop and say where")

    def installed(answers: Answers) -> Verdict:
        missing = [h for h in hosts if h in answers and answers[h][DOCKER].exit_code != 0]
        if not missing:
            return Verdict()
        message = missing_docker_message(missing)
        return Verdict(message=message, failed=dict.fromkeys(missing, message))

    deploy = deploy_script(
        ctx,
        operation="setup",
        skip_push=args.skip_push,
        no_cache=args.no_cache,
        full=True,
        accessories=True,
        locked_by_caller=True,
    )
    locked = (
        Say("Ensure Docker is installed..."),
        Phase({h: (check,) for h in hosts}),
        Gate(installed, "stops, changing nothing, where Docker is missing"),
        RunHook("docker-setup", None, "setup"),
        Invoke(deploy),
    )
    return Script("setup", (Hold(locked),), notes=deploy.notes, check_secrets=True, conclude=deploy.conclude)


register_script(
    ("setup",),
    "Setup all accessories, push the env, and deploy app to servers",
    mutating=True,
    build=setup_script,
    arguments=DeployArguments,
)
