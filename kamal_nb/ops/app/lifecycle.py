"""``kamal app start|stop|remove|exec|logs|maintenance|live`` as Kamal 2.12 does them
(``lib/kamal/cli/app.rb``). ``app boot`` is part of deploy (kamal_nb.ops.app.boot).

Arguments: exec ``cmd`` (words or one string), ``reuse``, ``env`` (a mapping, Kamal's ``-e k:v``),
``detach``, ``raw``, ``interactive`` (refused: headless); logs ``since``, ``lines``, ``grep``,
``grep_options``, ``skip_timestamps``, ``container_id``, ``follow`` (refused: headless);
maintenance ``drain_timeout``, ``message``. Hosts run in parallel; the roles of a host one after
another, except in start and stop (and so remove), whose roles run at the same time with
``boot.parallel_roles`` as in Kamal. (Kamal runs the roles of the other commands at the same time
always; here they stay in order, so a role failing on a host stops that host's later roles.)
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from kamal_nb.commands import App, Registry, Server
from kamal_nb.config import Role
from kamal_nb.engine.errors import Refused
from kamal_nb.fleet import Step
from kamal_nb.ops.accessory import log_lines, refuse_follow
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import (
    Action,
    Answers,
    Do,
    Later,
    Phase,
    Script,
    Section,
    StepRefused,
    answer,
    command_words,
    flag,
    register_script,
    text,
)
from kamal_nb.ops.session import Context

CONTAINER_ID = "<container id>"
RUNNING_VERSION = "<running version>"


def on_roles(
    ctx: Context, hosts: Sequence[str], make: Callable[[str, Role], Sequence[Action]]
) -> dict[str, tuple[Action, ...]]:
    """Kamal's ``on_roles(KAMAL.roles, hosts:)``: each selected role on each host."""
    return {
        host: tuple(action for role in ctx.selection.roles_on(host) for action in make(host, role)) for host in hosts
    }


def _endpoint_lookup(app: App, role: Role) -> tuple[str, list[Action]]:
    """The running version, then the id of its container (captured as ``<role>:endpoint``)."""
    version_key, endpoint_key = f"{role.name}:version", f"{role.name}:endpoint"

    def container(answers: Answers, host: str) -> Step:
        return app.container_id_for_version(answer(answers, host, version_key))

    return endpoint_key, [
        Do(app.current_running_version(), role=role.name, tolerate=True, capture=version_key),
        Later(
            app.container_id_for_version(RUNNING_VERSION),
            container,
            role=role.name,
            capture=endpoint_key,
            note="the version is the one found running above",
        ),
    ]


def start(ctx: Context) -> Phase:
    line = f"Started app version {ctx.config.version}"

    def steps(host: str, role: Role) -> list[Action]:
        app = App(ctx.config, role=role, host=host)
        actions: list[Action] = [Do(audit(ctx, line), role=role.name), Do(app.start(), role=role.name, tolerate=True)]
        if role.running_proxy:
            endpoint_key, lookup = _endpoint_lookup(app, role)

            def deploy(answers: Answers, host: str) -> Step:
                endpoint = answer(answers, host, endpoint_key)
                if not endpoint:
                    raise StepRefused(f"Failed to get endpoint for {role.name} on {host}, did the container boot?")
                return app.deploy(target=endpoint)

            actions += [*lookup, Later(app.deploy(target=CONTAINER_ID), deploy, role=role.name)]
        return actions

    return Phase(on_roles(ctx, ctx.selection.app_hosts, steps), parallel_roles=ctx.config.boot.parallel_roles)


def stop(ctx: Context) -> Phase:
    def steps(host: str, role: Role) -> list[Action]:
        app = App(ctx.config, role=role, host=host)
        actions: list[Action] = [Do(audit(ctx, "Stopped app", role=role.name), role=role.name)]
        if role.running_proxy:
            endpoint_key, lookup = _endpoint_lookup(app, role)

            def remove(answers: Answers, host: str) -> Step | None:
                return app.remove() if answer(answers, host, endpoint_key) else None

            actions += [
                *lookup,
                Later(app.remove(), remove, role=role.name, tolerate=True, note="when a container is running"),
            ]
        actions.append(Do(app.stop(), role=role.name, tolerate=True))
        return actions

    return Phase(on_roles(ctx, ctx.selection.app_hosts, steps), parallel_roles=ctx.config.boot.parallel_roles)


def hosts_removing_all_roles(ctx: Context) -> list[str]:
    """App hosts where every role the host has is selected."""
    return [
        host
        for host in ctx.selection.app_hosts
        if sorted(r.name for r in ctx.selection.roles_on(host)) == sorted(r.name for r in ctx.config.host_roles(host))
    ]


def remove_containers(ctx: Context) -> Phase:
    """``app remove_containers``: each selected role's stopped containers (``docker container prune``)."""

    def steps(host: str, role: Role) -> list[Action]:
        app = App(ctx.config, role=role, host=host)
        return [
            Do(audit(ctx, "Removed all app containers", role=role.name), role=role.name),
            Do(app.remove_containers(), role=role.name),
        ]

    return Phase(on_roles(ctx, ctx.selection.app_hosts, steps))


def remove_images(ctx: Context) -> Phase:
    """``app remove_images``: on hosts where every role is selected, since a host's roles share them."""
    remove = App(ctx.config).remove_images()
    return Phase(
        {host: (Do(audit(ctx, "Removed all app images")), Do(remove)) for host in hosts_removing_all_roles(ctx)}
    )


def remove_app_directories(ctx: Context) -> Phase:
    """``app remove_app_directories``: likewise; ``rm -r`` failures are ignored, as in Kamal."""
    app, server = App(ctx.config), Server(ctx.config)
    return Phase(
        {
            host: (
                Do(server.remove_app_directory(), tolerate=True),
                Do(audit(ctx, f"Removed {ctx.config.app_directory}")),
                Do(app.remove_proxy_app_directory(), tolerate=True),
            )
            for host in hosts_removing_all_roles(ctx)
        }
    )


def remove(ctx: Context) -> Section:
    """``app remove``: stop, then remove the containers, the images and the app directories."""
    return Section((stop(ctx), remove_containers(ctx), remove_images(ctx), remove_app_directories(ctx)))


def _proxy_roles(ctx: Context, make: Callable[[App], Step]) -> Phase:
    """``on_roles(KAMAL.roles, hosts: KAMAL.proxy_hosts)`` for the roles that run the proxy."""

    def steps(host: str, role: Role) -> list[Action]:
        if not role.running_proxy:
            return []
        return [Do(make(App(ctx.config, role=role, host=host)), role=role.name)]

    return Phase(on_roles(ctx, ctx.selection.proxy_hosts, steps))


# -- the commands --------------------------------------------------------------------------------------


def _start(ctx: Context, args: Args) -> Script:
    return Script("app start", (start(ctx),), lock=True)


def _stop(ctx: Context, args: Args) -> Script:
    return Script("app stop", (stop(ctx),), lock=True)


def _remove(ctx: Context, args: Args) -> Script:
    return Script("app remove", (remove(ctx),), lock=True)


def _live(ctx: Context, args: Args) -> Script:
    return Script("app live", (_proxy_roles(ctx, lambda app: app.live()),), lock=True)


def _maintenance(ctx: Context, args: Args) -> Script:
    drain = args.get("drain_timeout")
    drain_timeout = drain if drain not in (None, "") else ctx.config.drain_timeout
    message = text(args, "message")
    phase = _proxy_roles(ctx, lambda app: app.maintenance(drain_timeout=drain_timeout, message=message))
    return Script("app maintenance", (phase,), lock=True)


def _exec_env(args: Args) -> Mapping[str, object]:
    env = args.get("env") or {}
    if not isinstance(env, Mapping):
        raise Refused("app exec: env must be a mapping of names to values (Kamal's -e NAME:VALUE)")
    return {str(k): v for k, v in env.items()}


def _exec(ctx: Context, args: Args) -> Script:
    interactive, reuse, detach, raw = (flag(args, k) for k in ("interactive", "reuse", "detach", "raw"))
    incompatible = [k for k, on in (("interactive", interactive), ("reuse", reuse)) if detach and on]
    if incompatible:
        raise Refused(f"Detach is not compatible with {' or '.join(incompatible)}")
    incompatible = [k for k, on in (("interactive", interactive), ("detach", detach)) if raw and on]
    if incompatible:
        raise Refused(f"Raw is not compatible with {' or '.join(incompatible)}")
    command = command_words(args)
    if not command:
        raise Refused("No command provided. You must specify a command to execute.")
    if interactive:
        raise Refused(
            "kamal_nb runs commands headless, so `app exec -i` (an interactive session over `ssh -t`) "
            "cannot work here: drop -i to run the command and collect its output, or run it from a terminal"
        )
    env = _exec_env(args)
    hosts = ctx.selection.app_hosts
    given = ctx.options.version
    if reuse:
        return _exec_reuse(ctx, command, env, given)
    version = given or ctx.config.latest_tag
    login = Registry(ctx.config).login()
    line = f"Executed cmd '{command}' on app version {version}"

    def steps(host: str, role: Role) -> list[Action]:
        app = App(ctx.config, role=role, host=host, version=version)
        run = app.execute_in_new_container(command, env=env, detach=detach, exec_suffix=ctx.session.random_hex(3))
        return [Do(audit(ctx, line), role=role.name), Do(run, role=role.name)]

    items = (
        Phase({host: (Do(login),) for host in hosts} if login is not None else {}),
        Phase(on_roles(ctx, hosts, steps)),
    )
    return Script("app exec", items, notes=(f"Launching command with version {version} from new container...",))


def _exec_reuse(ctx: Context, command: str, env: Mapping[str, object], given: str | None) -> Script:
    """In the running containers: the version is ``--version``, else the one running on the primary host."""
    primary = ctx.selection.primary_host
    key = "exec:version"
    items: list[Phase] = []
    if given is None and primary is not None and ctx.selection.roles_on(primary):
        role = ctx.selection.roles_on(primary)[0]
        probe = App(ctx.config, role=role, host=primary).current_running_version()
        items.append(Phase({primary: (Do(probe, role=role.name, capture=key),)}))

    def version_of(answers: Answers) -> str:
        if given is not None:
            return given
        return (answer(answers, primary, key) if primary else "") or ctx.config.version

    def steps(host: str, role: Role) -> list[Action]:
        def app(answers: Answers) -> App:
            return App(ctx.config, role=role, host=host, version=version_of(answers))

        shown = App(ctx.config, role=role, host=host, version=given or RUNNING_VERSION)
        shown_line = f"Executed cmd '{command}' on app version {given or RUNNING_VERSION}"
        note = None if given else "the version is the one running on the primary host"
        return [
            Later(
                audit(ctx, shown_line, role=role.name),
                lambda answers, _: audit(
                    ctx, f"Executed cmd '{command}' on app version {version_of(answers)}", role=role.name
                ),
                role=role.name,
                note=note,
            ),
            Later(
                shown.execute_in_existing_container(command, env=env),
                lambda answers, _: app(answers).execute_in_existing_container(command, env=env),
                role=role.name,
                note=note,
            ),
        ]

    items.append(Phase(on_roles(ctx, ctx.selection.app_hosts, steps)))
    return Script("app exec", tuple(items), notes=("Launching command from existing container...",))


def _logs(ctx: Context, args: Args) -> Script:
    refuse_follow(args, "app logs")
    container_id = text(args, "container_id")

    def steps(host: str, role: Role) -> list[Action]:
        logs = App(ctx.config, role=role, host=host).logs(
            container_id=container_id,
            timestamps=not flag(args, "skip_timestamps"),
            since=text(args, "since"),
            lines=log_lines(args),
            grep=text(args, "grep"),
            grep_options=text(args, "grep_options"),
        )
        # Kamal prints "Nothing found" when the command fails
        return [Do(logs, role=role.name, tolerate=True)]

    return Script("app logs", (Phase(on_roles(ctx, ctx.selection.app_hosts, steps)),))


register_script(("app", "start"), "Start existing app container on servers", mutating=True, build=_start)
register_script(("app", "stop"), "Stop app container on servers", mutating=True, build=_stop)
register_script(("app", "remove"), "Remove app containers and images from servers", mutating=True, build=_remove)
register_script(("app", "live"), "Set the app to live mode", mutating=True, build=_live)
register_script(("app", "maintenance"), "Set the app to maintenance mode", mutating=True, build=_maintenance)
register_script(
    ("app", "exec"),
    "Execute a custom command on servers within the app container",
    mutating=False,
    build=_exec,
)
register_script(("app", "logs"), "Show log lines from app on servers", mutating=False, build=_logs)
