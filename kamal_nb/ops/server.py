"""``kamal server bootstrap`` (``lib/kamal/cli/server.rb``): check Docker on every host.

Kamal installs a missing Docker with get.docker.com's script. kamal_nb does not: a fleet may have no
way out to the internet, and a half-run installer is worse than a clear message. It reports every
host without Docker, and which, then stops (nothing after it runs).
"""

from __future__ import annotations

from kamal_nb.commands import Docker
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import (
    Answers,
    Do,
    Gate,
    Phase,
    RunHook,
    Script,
    Section,
    Verdict,
    answered_ok,
    register_script,
)
from kamal_nb.ops.session import Context

DOCKER = "docker:installed"
INSTALL_DOCS = "https://docs.docker.com/engine/install/"


def missing_docker_message(hosts: list[str]) -> str:
    return (
        f"Docker is not installed on {', '.join(hosts)}: kamal_nb does not install it (Kamal would fetch "
        f"https://get.docker.com, which needs internet access from the host). Install Docker manually: {INSTALL_DOCS}"
    )


def bootstrap(ctx: Context, *, command: str = "server", subcommand: str | None = "bootstrap") -> Section:
    hosts = ctx.selection.hosts
    installed = Docker(ctx.config).installed()

    def check(answers: Answers) -> Verdict:
        missing = [h for h in hosts if not answered_ok(answers, h, DOCKER)]
        if not missing:
            return Verdict()
        message = missing_docker_message(missing)
        return Verdict(message=message, failed={h: f"Docker is not installed on {h}" for h in missing})

    return Section(
        (
            Phase({host: (Do(installed, tolerate=True, capture=DOCKER),) for host in hosts}),
            Gate(check, "hosts without Docker are reported (kamal_nb does not install it) and nothing more runs"),
            RunHook("docker-setup", tuple(hosts), command, subcommand),
        )
    )


def _bootstrap(ctx: Context, args: Args) -> Script:
    return Script("server bootstrap", (bootstrap(ctx),), lock=True)


register_script(("server", "bootstrap"), "Set up Docker to run Kamal apps", mutating=True, build=_bootstrap)
