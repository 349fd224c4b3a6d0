"""``kamal build create|remove|details|dev`` (``Kamal::Cli::Build``): the local buildx build setup.

They run Kamal's own local commands (kamal_nb.commands.builder) on this machine, output streamed
as the host "local". Each needs the Docker buildx plugin: when ``docker buildx`` is missing, nothing
runs and the command answers with one line, what is missing and what Kamal would have run.
``details`` still shows what it can without it (``Builder: NAME`` and ``docker context ls``).

``build dev`` (Kamal 2.12) builds the working tree as it is, tagged ``<version>-dirty``, loaded into
the local image store (``--output docker``), without the registry login or the builder check of
``build push``; it first lists which uncommitted and untracked files the build context will carry,
with Kamal's check image (a ``FROM busybox`` build of the context, then ``docker run``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable, Sequence

from kamal_nb.build_engine import buildx
from kamal_nb.commands import Command
from kamal_nb.commands.base import Base
from kamal_nb.commands.builder import Builder, BuilderBase, Pack
from kamal_nb.commands.command import docker
from kamal_nb.config.assemble import local_docker_arch
from kamal_nb.config.errors import ConfigError
from kamal_nb.engine.hooks import LOCAL
from kamal_nb.engine.plan import PlannedStep
from kamal_nb.engine.script import Call, Say, Script
from kamal_nb.fleet import CommandResult
from kamal_nb.ops.build.engines import engine_split
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.local_exec import run_local
from kamal_nb.ops.local_result import LocalCommandError
from kamal_nb.ops.script import local_env, register_script
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Recorder

BUILD_CHECK_TAG = "kamal-local-build-check"  # Kamal::Docker::BUILD_CHECK_TAG
CHECK_DOCKERFILE = 'FROM busybox\nCOPY . app\nWORKDIR app\nCMD find . -type f | sed "s|^\\./||"\n'
DOCKER_MISSING, BUILDX_MISSING = buildx.DOCKER_MISSING, buildx.BUILDX_MISSING
NOTE = "runs on this machine"


def target(ctx: Context) -> BuilderBase:
    """The builder Kamal picks for the config (``KAMAL.builder.target``)."""
    return Builder(ctx.config, local_arch=local_docker_arch()).target


def builder_name(ctx: Context) -> str:
    """``KAMAL.builder.name``: local, remote, hybrid, pack or cloud."""
    return type(target(ctx)).__name__.lower()


def missing_tool(ctx: Context) -> str | None:
    """Kamal's DependencyError message when ``docker --version && docker buildx version`` would
    fail here, else None."""
    return buildx.missing_tool(ctx.session.root, local_env(ctx))


def _refuse(ctx: Context, path: str, would_run: Callable[[], Sequence[Command | str]]) -> None:
    """LocalCommandError when docker or its buildx plugin is missing: nothing runs."""
    problem = missing_tool(ctx)
    if problem is None:
        return
    try:
        commands = " && ".join(str(c) for c in would_run())
    except ConfigError as error:  # the commands need what is missing here too (a git version...)
        commands = f"docker buildx commands (not shown: {error})"
    raise LocalCommandError(f"{problem}: `kamal {path}` not run; Kamal would run: {commands}")


def _recorded(rec: Recorder, commands: Sequence[CommandResult], *messages: str) -> bool:
    """What ran here, into the operation's record (under the host "local"); whether it all went well."""
    if commands:
        rec.add(LOCAL, list(commands), sum(c.duration for c in commands))
    for message in messages:
        rec.say(message)
    return all(c.ok for c in commands)


def _run_all(ctx: Context, commands: Sequence[Command], env: dict[str, str] | None = None) -> list[CommandResult]:
    """Each command in turn, stopping at the first failure (Kamal's ``execute`` raises)."""
    done: list[CommandResult] = []
    for index, command in enumerate(commands):
        done.append(run_local(ctx, command, env=env, index=index))
        if not done[-1].ok:
            break
    return done


# -- build create / remove -----------------------------------------------------------------------


def _create_command(ctx: Context) -> Command | None:
    chosen = target(ctx)
    if isinstance(chosen, Pack):
        # Kamal 2.12's Pack builder has no `create`: `kamal build create` stops with NoMethodError
        raise LocalCommandError("the pack builder has no build setup to create (Kamal 2.12 has no create for it)")
    command: Command | None = getattr(chosen, "create")()  # noqa: B009 (every other builder has one)
    return command


def _remove_command(ctx: Context) -> Command | None:
    command: Command | None = getattr(target(ctx), "remove")()  # noqa: B009 (Pack's is None, as in Kamal)
    return command


SetupCommand = Callable[[Context], Command | None]


def _setup(name: str, build: SetupCommand) -> Callable[[Context, Args], Script]:
    def script(ctx: Context, args: Args) -> Script:
        command = build(ctx)
        notes = [f"builder: {builder_name(ctx)}; needs the Docker buildx plugin"]
        if command is None:
            notes.append("nothing to run: the docker driver has no buildx builder (Kamal runs nothing)")
            said = "nothing to do: builder.driver is docker, which needs no buildx builder"
            return Script(name, (Say(said),), notes=tuple(notes))
        if name == "build create" and ctx.config.builder.remote and ctx.config.builder.remote.startswith("ssh://"):
            notes.append("Kamal first runs `true` over SSH on the remote builder; here docker makes that connection")

        def run(rec: Recorder) -> bool:
            _refuse(ctx, name, lambda: [command])
            return _recorded(rec, _run_all(ctx, [command]))

        return Script(name, (Call((PlannedStep(LOCAL, command, note=NOTE),), run),), notes=tuple(notes))

    return script


# -- build details ---------------------------------------------------------------------------------


def _info(ctx: Context) -> Command:
    command: Command = target(ctx).info()
    return command


def _details(ctx: Context, args: Args) -> Script:
    said = f"Builder: {builder_name(ctx)}"
    # where kamal_nb itself builds (without buildx): which engine builds which arch
    engines = [f"kamal_nb: {line}" for line in engine_split(ctx).lines()]
    shown = (PlannedStep(LOCAL, _info(ctx), note=NOTE),)

    def run(rec: Recorder) -> bool:
        if isinstance(target(ctx), Pack):
            return _recorded(rec, _run_all(ctx, [_info(ctx)]), said)
        problem = missing_tool(ctx)
        if problem is None:
            return _recorded(rec, _run_all(ctx, [_info(ctx)]), said, *engines)
        if problem == DOCKER_MISSING:
            raise LocalCommandError(f"{DOCKER_MISSING}: `kamal build details` not run; Kamal would run: {_info(ctx)}")
        missing = f"{BUILDX_MISSING}: `docker buildx ls` not run"
        return _recorded(rec, _run_all(ctx, [docker("context", "ls")]), said, missing, *engines)

    return Script("build details", (Call(shown, run),), notes=(f"prints {said}", *engines))


# -- build dev -------------------------------------------------------------------------------------


def _dev_push(ctx: Context, args: Args) -> Command:
    command: Command = target(ctx).push(
        str(args.get("output") or "docker"), tag_as_dirty=True, no_cache=bool(args.get("no_cache"))
    )
    return command


def _check_build(dockerfile: str) -> str:
    return f"docker buildx build -t={BUILD_CHECK_TAG} -f={dockerfile} ."


def _dev(ctx: Context, args: Args) -> Script:
    push = _dev_push(ctx, args)
    shown: list[Command | str] = [
        Base(ctx.config).ensure_docker_installed(),
        _check_build("<a temporary Dockerfile>"),
        f"docker run --rm {BUILD_CHECK_TAG}",
        push,
    ]
    notes = (
        "needs the Docker buildx plugin",
        f"the check image ({BUILD_CHECK_TAG}, FROM busybox) lists the files the build context carries",
        "warns about uncommitted and untracked files among them (git ls-files --modified / --others)",
    )

    def run(rec: Recorder) -> bool:
        _refuse(ctx, "build dev", lambda: [push])
        done = _run_all(ctx, [Base(ctx.config).ensure_docker_installed()])
        if not done[-1].ok:
            return _recorded(rec, done)
        with tempfile.TemporaryDirectory(prefix="kamal-nb-dev-") as directory:
            dockerfile = os.path.join(directory, "Dockerfile")
            with open(dockerfile, "w", encoding="utf-8") as out:
                out.write(CHECK_DOCKERFILE)
            done.append(run_local(ctx, _check_build(dockerfile), index=len(done)))
        if not done[-1].ok:
            return _recorded(rec, done, "failed to build check image")
        done.append(run_local(ctx, f"docker run --rm {BUILD_CHECK_TAG}", index=len(done)))
        # Kamal reads whatever the check container printed, even when it failed
        included = {line.strip() for line in done[-1].stdout.splitlines()}
        warnings = _dev_warnings(ctx, included)
        env = {name: value.reveal() for name, value in target(ctx).secrets.items()}
        done.append(run_local(ctx, push, env=env, index=len(done)))
        return _recorded(rec, done, *warnings)

    steps = tuple(PlannedStep(LOCAL, step, note=NOTE) for step in shown)
    return Script("build dev", (Call(steps, run),), notes=notes)


def _dev_warnings(ctx: Context, included: set[str]) -> list[str]:
    messages: list[str] = []
    for files, heading in (
        (
            _git_files(ctx, "--modified"),
            "WARNING: Files with uncommitted changes will be present in the dev container:",
        ),
        (_git_files(ctx, "--others"), "WARNING: Untracked files will be present in the dev container:"),
    ):
        carried = sorted(included & files)
        if carried:
            messages += [heading, *(f"  {name}" for name in carried), ""]
    return messages


def _git_files(ctx: Context, which: str) -> set[str]:
    try:
        listed = subprocess.run(
            ["git", "ls-files", which],
            cwd=ctx.session.root,
            env=dict(local_env(ctx)),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return set()
    return {line.strip() for line in listed.stdout.splitlines()}


register_script(
    ("build", "create"), "Create a build setup", mutating=False, build=_setup("build create", _create_command)
)
register_script(
    ("build", "remove"), "Remove build setup", mutating=False, build=_setup("build remove", _remove_command)
)
register_script(("build", "details"), "Show build setup", mutating=False, build=_details)
register_script(
    ("build", "dev"),
    "Build using the working directory, tag it as dirty, and push to local image store",
    mutating=False,
    build=_dev,
)
