"""``kamal accessory boot|reboot|start|stop|restart|remove NAME|all``, ``exec`` and ``logs``, as Kamal 2.12
does them (``lib/kamal/cli/accessory.rb``): the same commands, files, directories, env files (0600)
and audit lines, in the same order.

Arguments (``perform(ctx, ("accessory", "boot"), {"name": "db"})``): ``name`` (or "all" where Kamal
accepts it); exec: ``cmd`` (words or one string), ``reuse``, ``interactive`` (refused: headless),
``raw``; logs: ``since``, ``lines``, ``grep``, ``grep_options``, ``skip_timestamps``, ``follow``
(refused: headless).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from kamal_nb.commands import Accessory, Docker, Registry
from kamal_nb.commands.command import cmd
from kamal_nb.config import Config
from kamal_nb.config.accessories import Accessory as AccessoryConfig
from kamal_nb.config.errors import ConfigError
from kamal_nb.engine.errors import Refused
from kamal_nb.fleet import Step, Upload
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import (
    Action,
    Answers,
    Do,
    Gate,
    Item,
    Later,
    Only,
    Phase,
    Script,
    Section,
    Verdict,
    answer,
    command_words,
    flag,
    local_env,
    register_script,
    text,
)
from kamal_nb.ops.session import Context
from kamal_nb.redaction import Secret
from kamal_nb.ruby.erb import render
from kamal_nb.ruby.values import ruby_to_s

CONTAINER_ID = "<container id>"


def _sentence(words: Sequence[str]) -> str:
    """ActiveSupport's ``to_sentence``: "a", "a and b", "a, b, and c"."""
    if len(words) <= 2:
        return " and ".join(words)
    return ", ".join(words[:-1]) + ", and " + words[-1]


def accessories(config: Config, name: str, *, allow_all: bool) -> list[AccessoryConfig]:
    """The accessories NAME means ("all": every one, where Kamal allows it), or Kamal's error."""
    if allow_all and name == "all":
        return list(config.accessories)
    found = config.accessory(name)
    if found is None:
        names = [a.name for a in config.accessories]
        raise Refused(f"No accessory by the name of '{name}'" + (f" (options: {_sentence(names)})" if names else ""))
    return [found]


def _name(args: Args) -> str:
    name = text(args, "name")
    if name is None:
        raise Refused("accessory commands need a NAME (or all)")
    return name


def hosts_of(ctx: Context, accessory: AccessoryConfig) -> list[str]:
    """``KAMAL.accessory_hosts & accessory.hosts``."""
    return [h for h in ctx.selection.accessory_hosts if h in accessory.hosts]


def _each(hosts: Sequence[str], actions: Sequence[Action]) -> Phase:
    return Phase({host: tuple(actions) for host in hosts})


# -- the pieces Kamal's commands are made of ---------------------------------------------------------


def prepare(ctx: Context, accessory: AccessoryConfig) -> Phase:
    """Registry login (the accessory's registry, if it has one) and ``docker network create kamal``."""
    login = Registry(ctx.config).login(registry_config=accessory.registry)
    network = Docker(ctx.config).create_network()
    actions: list[Action] = [Do(login)] if login is not None else []
    actions.append(Do(network, tolerate="already exists"))
    return _each(hosts_of(ctx, accessory), actions)


def directories(ctx: Context, accessory: AccessoryConfig) -> Phase:
    commands = Accessory(ctx.config, name=accessory.name)
    actions: list[Action] = []
    for directory in accessory.directories:
        actions.append(Do(commands.make_directory(directory.local)))
        if directory.mode:
            actions.append(Do(cmd("chmod", directory.mode, directory.local)))
        if directory.owner:
            actions.append(Do(cmd("chown", directory.owner, directory.local)))
    return _each(hosts_of(ctx, accessory), actions)


def _file_content(ctx: Context, accessory: AccessoryConfig, local: str) -> tuple[bytes, int]:
    """The bytes to upload and their mode; ``*erb`` files rendered with the accessory's env in ENV."""
    path = local
    if not os.path.isabs(path):
        path = str(ctx.session.root / path)
    if not os.path.exists(path):
        raise Refused(f"Missing file: {local}")
    if local.endswith("erb"):
        env = dict(local_env(ctx))
        env.update({key: ruby_to_s(value) if value is not None else "" for key, value in accessory.env.clear.items()})
        env.update({key: value.reveal() for key, value in accessory.env.secret_values(ctx.config.secrets).items()})
        with open(path, encoding="utf-8") as handle:
            template = handle.read()
        try:
            rendered = render(template, path=local, env=env, cwd=str(ctx.session.root))
        except ConfigError as error:
            raise Refused(str(error)) from None
        return rendered.encode(), 0o644
    with open(path, "rb") as handle:
        return handle.read(), os.stat(path).st_mode & 0o777


def upload(ctx: Context, accessory: AccessoryConfig) -> Phase:
    commands = Accessory(ctx.config, name=accessory.name)
    actions: list[Action] = []
    for file in accessory.files:
        content, mode = _file_content(ctx, accessory, file.local)
        remote = file.host_path
        actions.append(Do(commands.make_directory_for(remote)))
        actions.append(Do(Upload(remote, content, mode)))
        actions.append(Do(cmd("chmod", file.mode or "755", remote)))
        if file.owner:
            actions.append(Do(cmd("chown", file.owner, remote)))
    return _each(hosts_of(ctx, accessory), actions)


def _proxy_target(commands: Accessory, key: str) -> Do:
    return Do(commands.container_id_for(container_name=commands.service_name, only_running=True), capture=key)


def _proxy_deploy(commands: Accessory, key: str) -> Later:
    def build(answers: Answers, host: str) -> Step:
        return commands.deploy(target=answer(answers, host, key))

    return Later(commands.deploy(target=CONTAINER_ID), build, note="the target is the container id found above")


def _env_upload(commands: Accessory) -> Upload:
    content: Secret = commands.secrets_io()
    return Upload(commands.secrets_path, content.reveal().encode(), 0o600)


def boot(ctx: Context, accessory: AccessoryConfig, *, with_prepare: bool = True) -> Section:
    name = accessory.name
    commands = Accessory(ctx.config, name=name)
    hosts = hosts_of(ctx, accessory)
    existing = f"{name}:existing"
    target = f"{name}:target"

    def skipping(answers: Answers) -> Verdict:
        booted = sorted(h for h in hosts if answer(answers, h, existing))
        if booted:
            return Verdict(message=f"Skipping booting `{name}` on {', '.join(booted)}, a container already exists")
        return Verdict()

    def run_steps(host: str) -> tuple[Action, ...]:
        actions: list[Action] = [
            Do(audit(ctx, f"Booted {name} accessory")),
            Do(commands.ensure_env_directory()),
            Do(_env_upload(commands)),
            Do(commands.run(host=host)),
        ]
        if accessory.running_proxy:
            actions += [_proxy_target(commands, target), _proxy_deploy(commands, target)]
        return tuple(actions)

    def fresh(answers: Answers, host: str) -> bool:
        return not answer(answers, host, existing)

    items: list[Item] = [prepare(ctx, accessory)] if with_prepare else []
    items += [
        _each(hosts, [Do(commands.info(all=True, quiet=True), capture=existing)]),
        Gate(skipping, f"hosts where a `{name}` container already exists are skipped"),
        directories(ctx, accessory),
        upload(ctx, accessory),
        Phase(
            {
                host: (Only(fresh, run_steps(host), note=f"unless a `{name}` container already exists"),)
                for host in hosts
            }
        ),
    ]
    return Section(tuple(items))


def start(ctx: Context, accessory: AccessoryConfig) -> Phase:
    name = accessory.name
    commands = Accessory(ctx.config, name=name)
    actions: list[Action] = [Do(audit(ctx, f"Started {name} accessory")), Do(commands.start())]
    if accessory.running_proxy:
        key = f"{name}:target"
        actions += [_proxy_target(commands, key), _proxy_deploy(commands, key)]
    return _each(hosts_of(ctx, accessory), actions)


def stop(ctx: Context, accessory: AccessoryConfig) -> Phase:
    name = accessory.name
    commands = Accessory(ctx.config, name=name)
    actions: list[Action] = [
        Do(audit(ctx, f"Stopped {name} accessory")),
        Do(commands.stop(), tolerate=True),
    ]
    if accessory.running_proxy:
        # Kamal removes the route whatever the lookup answers (an empty string is truthy in Ruby)
        actions += [_proxy_target(commands, f"{name}:running"), Do(commands.remove())]
    return _each(hosts_of(ctx, accessory), actions)


def pull_image(ctx: Context, accessory: AccessoryConfig) -> Phase:
    commands = Accessory(ctx.config, name=accessory.name)
    actions = [Do(audit(ctx, f"Pull {accessory.name} accessory image")), Do(commands.pull_image())]
    return _each(hosts_of(ctx, accessory), actions)


def remove_container(ctx: Context, accessory: AccessoryConfig) -> Phase:
    commands = Accessory(ctx.config, name=accessory.name)
    actions = [Do(audit(ctx, f"Remove {accessory.name} accessory container")), Do(commands.remove_container())]
    return _each(hosts_of(ctx, accessory), actions)


def remove_image(ctx: Context, accessory: AccessoryConfig) -> Phase:
    commands = Accessory(ctx.config, name=accessory.name)
    actions = [Do(audit(ctx, f"Removed {accessory.name} accessory image")), Do(commands.remove_image())]
    return _each(hosts_of(ctx, accessory), actions)


def remove_service_directory(ctx: Context, accessory: AccessoryConfig) -> Phase:
    commands = Accessory(ctx.config, name=accessory.name)
    return _each(hosts_of(ctx, accessory), [Do(commands.remove_service_directory())])


def reboot(ctx: Context, accessory: AccessoryConfig) -> Section:
    return Section(
        (
            prepare(ctx, accessory),
            pull_image(ctx, accessory),
            stop(ctx, accessory),
            remove_container(ctx, accessory),
            boot(ctx, accessory, with_prepare=False),
        )
    )


def remove(ctx: Context, accessory: AccessoryConfig) -> Section:
    return Section(
        (
            stop(ctx, accessory),
            remove_container(ctx, accessory),
            remove_image(ctx, accessory),
            remove_service_directory(ctx, accessory),
        )
    )


def remove_all(ctx: Context, name: str = "all") -> Section:
    return Section(tuple(remove(ctx, a) for a in accessories(ctx.config, name, allow_all=True)))


# -- the commands --------------------------------------------------------------------------------------


def _locked(operation: str, *parts: Item, notes: tuple[str, ...] = ()) -> Script:
    return Script(operation, parts, lock=True, notes=notes)


def _boot(ctx: Context, args: Args) -> Script:
    found = accessories(ctx.config, _name(args), allow_all=True)
    return _locked("accessory boot", *(boot(ctx, a) for a in found))


def _reboot(ctx: Context, args: Args) -> Script:
    found = accessories(ctx.config, _name(args), allow_all=True)
    return _locked("accessory reboot", *(reboot(ctx, a) for a in found))


def _start(ctx: Context, args: Args) -> Script:
    return _locked("accessory start", *(start(ctx, a) for a in accessories(ctx.config, _name(args), allow_all=False)))


def _stop(ctx: Context, args: Args) -> Script:
    return _locked("accessory stop", *(stop(ctx, a) for a in accessories(ctx.config, _name(args), allow_all=False)))


def _restart(ctx: Context, args: Args) -> Script:
    found = accessories(ctx.config, _name(args), allow_all=False)
    return _locked("accessory restart", *(p for a in found for p in (stop(ctx, a), start(ctx, a))))


def _remove(ctx: Context, args: Args) -> Script:
    name = _name(args)
    return _locked(
        "accessory remove",
        remove_all(ctx, name),
        notes=(f"This will remove all containers, images and data directories for {name}",),
    )


def _hidden(operation: str, make: Callable[[Context, AccessoryConfig], Item]) -> None:
    """Kamal's hidden accessory commands (one NAME, under the lock)."""

    def script(ctx: Context, args: Args) -> Script:
        found = accessories(ctx.config, _name(args), allow_all=False)
        return _locked(f"accessory {operation}", *(make(ctx, a) for a in found))

    register_script(("accessory", operation), f"Hidden Kamal step: accessory {operation}", mutating=True, build=script)


def _exec(ctx: Context, args: Args) -> Script:
    name = _name(args)
    interactive, reuse, raw = flag(args, "interactive"), flag(args, "reuse"), flag(args, "raw")
    if raw and interactive:
        raise Refused("Raw is not compatible with interactive")
    if interactive:
        raise Refused(
            "kamal_nb runs commands headless, so `accessory exec -i` (an interactive shell over `ssh -t`) "
            "cannot work here: drop -i to run the command and collect its output, or run it from a terminal"
        )
    command = command_words(args)
    if not command:
        raise Refused("No command provided. You must specify a command to execute.")
    (accessory,) = accessories(ctx.config, name, allow_all=False)
    commands = Accessory(ctx.config, name=name)
    record = Do(audit(ctx, f"Executed cmd '{command}' on {name} accessory"))
    if reuse:
        actions: list[Action] = [record, Do(commands.execute_in_existing_container(command))]
        say = "Launching command from existing container..."
    else:
        login = Registry(ctx.config).login()
        actions = [Do(login)] if login is not None else []
        actions += [record, Do(commands.execute_in_new_container(command))]
        say = "Launching command from new container..."
    return Script("accessory exec", (_each(hosts_of(ctx, accessory), actions),), notes=(say,))


def log_lines(args: Args) -> int | str | None:
    """``-n``, else 100 unless ``--since`` or ``--grep`` is given (Kamal's default)."""
    lines = args.get("lines")
    if lines not in (None, ""):
        return lines  # type: ignore[no-any-return]
    return None if text(args, "since") or text(args, "grep") else 100


def refuse_follow(args: Args, what: str) -> None:
    if flag(args, "follow"):
        raise Refused(
            f"`{what} --follow` streams until stopped: run it as `%kamal {what} -f` or `kamal-nb {what} -f` "
            "(kamal_nb.ops.follow), or use lines/since/grep to fetch log lines"
        )


def _logs(ctx: Context, args: Args) -> Script:
    name = _name(args)
    refuse_follow(args, "accessory logs")
    (accessory,) = accessories(ctx.config, name, allow_all=False)
    logs = Accessory(ctx.config, name=name).logs(
        timestamps=not flag(args, "skip_timestamps"),
        since=text(args, "since"),
        lines=log_lines(args),
        grep=text(args, "grep"),
        grep_options=text(args, "grep_options"),
    )
    return Script("accessory logs", (_each(hosts_of(ctx, accessory), [Do(logs)]),))


register_script(
    ("accessory", "boot"),
    "Boot new accessory service on host (use NAME=all to boot all accessories)",
    mutating=True,
    build=_boot,
)
register_script(
    ("accessory", "reboot"),
    "Reboot existing accessory on host (stop container, remove container, start new container; "
    "use NAME=all to boot all accessories)",
    mutating=True,
    build=_reboot,
)
register_script(("accessory", "start"), "Start existing accessory container on host", mutating=True, build=_start)
register_script(("accessory", "stop"), "Stop existing accessory container on host", mutating=True, build=_stop)
register_script(("accessory", "restart"), "Restart existing accessory container on host", mutating=True, build=_restart)
register_script(
    ("accessory", "remove"),
    "Remove accessory container, image and data directory from host (use NAME=all to remove all accessories)",
    mutating=True,
    build=_remove,
)
register_script(
    ("accessory", "exec"),
    "Execute a custom command on servers within the accessory container",
    mutating=False,
    build=_exec,
)
register_script(("accessory", "logs"), "Show log lines from accessory on host", mutating=False, build=_logs)
for _operation, _piece in (
    ("upload", upload),
    ("directories", directories),
    ("pull_image", pull_image),
    ("remove_container", remove_container),
    ("remove_image", remove_image),
    ("remove_service_directory", remove_service_directory),
):
    _hidden(_operation, _piece)

__all__ = [
    "accessories",
    "boot",
    "directories",
    "hosts_of",
    "log_lines",
    "prepare",
    "reboot",
    "refuse_follow",
    "remove",
    "remove_all",
    "start",
    "stop",
    "upload",
]
