"""`kamal app stale_containers [--stop]`: on every app host and role, the running versions other than
the current one; stopped (under the deploy lock) with --stop. The stops ride on nothing: they need
the answers of the reads first. With --stop the container kamal-proxy routes to is kept (Kamal stops
it too): stopping it would leave the host serving nothing (kamal_nb.ops.app.serving)."""

from __future__ import annotations

from kamal_nb.commands import App, Command
from kamal_nb.ops.app.serving import KEPT_NOTE, kept_line, serving_reads, serving_version
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import Answers, Do, Gate, Later, Phase, Script, Verdict, answer, flag, register_script
from kamal_nb.ops.session import Context

STALE = "<stale version>"


def _stale(answers: Answers, host: str, role: str) -> list[str]:
    running = answer(answers, host, f"running {role}")
    return [v for v in answer(answers, host, f"versions {role}").split("\n") if v and v != running]


def _kept(answers: Answers, host: str, app: App) -> list[str]:
    """The stale version kamal-proxy routes to (for a role behind the proxy, when it could be read)."""
    serving = serving_version(answers, host, app) if app.role.running_proxy else None
    return [v for v in _stale(answers, host, app.role.name) if v == serving]


def _stop(app: App, role: str) -> Later:
    def build(answers: Answers, host: str) -> list[Command]:
        kept = _kept(answers, host, app)
        return [app.stop(version=v) for v in _stale(answers, host, role) if v not in kept]

    note = "for each running version but the current one" + (f", {KEPT_NOTE}" if app.role.running_proxy else "")
    return Later(app.stop(version=STALE), build, role=role, tolerate=True, note=note)


def stale_script(ctx: Context, *, stop: bool) -> Script:
    hosts = ctx.selection.app_hosts
    reads: dict[str, tuple[Do, ...]] = {}
    stops: dict[str, tuple[Later, ...]] = {}
    apps = {(h, r.name): App(ctx.config, role=r, host=h) for h in hosts for r in ctx.selection.roles_on(h)}
    for host in hosts:
        roles = ctx.selection.roles_on(host)
        reads[host] = tuple(
            Do(command, role=role.name, tolerate=True, capture=f"{key} {role.name}")
            for role in roles
            for key, command in (
                ("versions", App(ctx.config, role=role, host=host).list_versions()),
                ("running", App(ctx.config, role=role, host=host).current_running_version()),
            )
        )
        if stop:
            reads[host] += tuple(
                read for role in roles if role.running_proxy for read in serving_reads(apps[host, role.name], role.name)
            )

        stops[host] = tuple(_stop(apps[host, role.name], role.name) for role in roles)

    def say(answers: Answers) -> Verdict:
        lines = []
        for host in hosts:
            for role in ctx.selection.roles_on(host):
                kept = _kept(answers, host, apps[host, role.name]) if stop else []
                for version in _stale(answers, host, role.name):
                    if version in kept:
                        lines.append(kept_line(host, role.name, version))
                    elif stop:
                        lines.append(f"{host}: Stopping stale container for role {role.name} with version {version}")
                    else:
                        lines.append(
                            f"{host}: Detected stale container for role {role.name} with version {version} "
                            "(use `kamal app stale_containers --stop` to stop)"
                        )
        return Verdict(messages=tuple(lines))

    def found(answers: Answers) -> dict[str, dict[str, list[str]]]:
        return {h: {r.name: _stale(answers, h, r.name) for r in ctx.selection.roles_on(h)} for h in hosts}

    items = (Phase(reads), Gate(say, "says which containers are stale"), *((Phase(stops),) if stop else ()))
    return Script(
        "app stale_containers", items, lock=stop, conclude=lambda answers, finished: found(answers), check_secrets=True
    )


def _build(ctx: Context, args: Args) -> Script:
    return stale_script(ctx, stop=flag(args, "stop"))


register_script(
    ("app", "stale_containers"),
    "Detect app stale containers (--stop to stop them)",
    mutating=True,
    build=_build,
    mutating_when=lambda args: bool(args.get("stop")),  # without --stop it only reports
)
