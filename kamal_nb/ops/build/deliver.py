"""`kamal build push | pull | deliver`: build and push the image with the Docker SDK, pull it on hosts.

Push builds on the local engine (`DOCKER_HOST`, else the default socket) from a clean `git archive`
of HEAD (Kamal builds from a fresh clone) or from `builder.context`, with the Dockerfile, target,
build args, the `service` label, `--no-cache`, and tags `<repo>:<version>` and `<repo>:latest`,
then pushes both with the registry login (the credentials go to the engine, never to a file).
With `builder.secrets` the build runs on the engine's built-in BuildKit instead, which reads each
secret through a session that only kamal_nb's memory and the engine connection see
(kamal_nb.build_engine.buildkit). With `builder.remote` (and no local arch to build) the build runs on
that host's engine, reached over SSH (kamal_nb.ops.build.engines), always on its BuildKit. Multi-arch
and hybrid builds put each arch on an engine of that arch, then a manifest list (build/multiarch.py).
Cloud and pack builders need docker buildx or pack, which kamal_nb cannot drive: they are refused clearly.
With a local registry (`localhost:PORT`) it is started first, and the hosts pull through SSH remote
port forwarding opened for the pulls only.

Pull, on the app hosts: registry login (plus the mirror question when there are several hosts),
then audit, `docker image rm --force`, `docker pull`, and the service-label check, in one round trip.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kamal_nb.build_engine.session import Services, SessionError
from kamal_nb.commands import Builder, Registry, Server
from kamal_nb.commands.builder.base import BuilderBase
from kamal_nb.engine.errors import OperationError
from kamal_nb.engine.hooks import LOCAL, run_hook
from kamal_nb.engine.plan import PlannedStep
from kamal_nb.engine.script import Around, Call
from kamal_nb.fleet import Finished, Output, Started
from kamal_nb.ops.audit import audit
from kamal_nb.ops.build.engines import (
    BuildEngine,
    engine_split,
    ensure_local_registry,
    local_registry_forwards,
    open_engine,
)
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import Answers, Do, Gate, Item, Only, Phase, Script, Verdict, register_script
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Recorder, registry_login
from kamal_nb.redaction import Secret, redact
from kamal_nb.ruby.values import ruby_to_s

if TYPE_CHECKING:
    pass

MIRROR_NONE = "error calling index: reflect: slice index out of range"
MIRROR = "registry mirror"  # the answer to the mirror question, by that name
DOCKERFILE_IN_TAR = ".kamal-nb.Dockerfile"


class BuildError(OperationError):
    """The image could not be built or pushed (the message has the end of the build log)."""


def _builder(ctx: Context) -> BuilderBase:
    return Builder(ctx.config).local


# -- push ----------------------------------------------------------------------------------------


def _unsupported(ctx: Context) -> str | None:
    config = ctx.config
    builder = Builder(config)
    if builder.is_pack or builder.is_cloud:
        return "pack and cloud builders need docker buildx or pack, which kamal_nb cannot drive"
    return None


def _git(root: Path, *args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(["git", *args], cwd=root, capture_output=True, check=False, timeout=120)


def build_context(ctx: Context) -> tuple[bytes, str, str]:
    """(context tar, Dockerfile path inside it, where it came from)."""
    root = ctx.session.root
    builder = ctx.config.builder
    dockerfile = builder.dockerfile
    if not builder.context_set:
        top = _git(root, "rev-parse", "--show-toplevel")
        if top.returncode == 0:
            archive = _git(root, "archive", "--format=tar", "HEAD")
            if archive.returncode != 0:
                raise BuildError(f"git archive HEAD failed: {archive.stderr.decode(errors='replace').strip()}")
            git_root = Path(top.stdout.decode().strip())
            prefix = root.resolve().relative_to(git_root.resolve()).as_posix()
            data = archive.stdout
            if prefix not in ("", "."):
                data = _subtree(data, prefix)
            return data, dockerfile, "a clean archive of git HEAD"
    context = (root / builder.context).resolve()
    if not context.is_dir():
        raise BuildError(f"build context {builder.context} is not a directory")
    dockerfile_path = (root / dockerfile).resolve()
    if not dockerfile_path.is_file():
        raise BuildError(f"Missing {dockerfile}")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(str(context), arcname=".", filter=_skip_git)
        try:
            inside = dockerfile_path.relative_to(context).as_posix()
        except ValueError:
            tar.add(str(dockerfile_path), arcname=DOCKERFILE_IN_TAR)
            inside = DOCKERFILE_IN_TAR
    return buffer.getvalue(), inside, str(context)


def _skip_git(info: tarfile.TarInfo) -> tarfile.TarInfo | None:
    return None if "/.git/" in f"/{info.name}/" else info


def _subtree(data: bytes, prefix: str) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(data)) as source, tarfile.open(fileobj=out, mode="w") as tar:
        for member in source.getmembers():
            if member.name == prefix or not member.name.startswith(prefix + "/"):
                continue
            member.name = member.name[len(prefix) + 1 :]
            tar.addfile(member, source.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def _build_args(ctx: Context) -> dict[str, str]:
    args: dict[str, str] = {}
    for key, value in ctx.config.builder.args.items():
        text = value.reveal() if isinstance(value, Secret) else ruby_to_s(value)
        args[ruby_to_s(key)] = text
    return args


def _session_services(ctx: Context, secrets: Mapping[str, Secret], auth: Mapping[str, str]) -> Services:
    server = ctx.config.registry.server
    hosts = {server} if server else {"registry-1.docker.io", "docker.io", "index.docker.io"}
    login = (auth["username"], auth["password"]) if auth["username"] else None
    # the same login the classic build gets, for a FROM image the engine has to pull
    return Services({k: v.reveal() for k, v in secrets.items()}, lambda host: login if host in hosts else None)


def push_image(ctx: Context, rec: Recorder, *, no_cache: bool = False, command: str = "build") -> str:
    """Build and push `<repo>:<version>` and `<repo>:latest`; returns the image reference."""
    if ctx.before_connect is not None:  # Kamal runs pre-connect at the start of a build, hosts or not
        ctx.before_connect()
    problem = _unsupported(ctx)
    if problem:
        raise BuildError(problem)
    builder = _builder(ctx)
    secrets = builder.secrets  # a name missing from the secrets files stops here, before the build
    image, latest = builder.absolute_image, builder.latest_image
    arches = ctx.config.builder.arches
    if len(arches) > 1:
        from kamal_nb.ops.build.multiarch import push_multiarch

        push_multiarch(ctx, image, latest, secrets, no_cache=no_cache, command=command, build=_build_and_push)
        rec.say(f"Built and pushed {image} and {latest} for {', '.join(arches)}")
        return image
    with open_engine(ctx) as engine:  # before the hook: nothing runs when there is nowhere to build
        if ctx.config.registry.local:
            ensure_local_registry(ctx)
        run_hook(ctx, "pre-build", command=command, subcommand="push" if command == "build" else None)
        # a remote engine reaches a local registry through a forward on its own host
        with local_registry_forwards(ctx, [engine.ssh_host] if engine.ssh_host else [], engine.ssh_pool):
            _build_and_push(
                ctx, engine, image, [latest], secrets, no_cache=no_cache, arch=arches[0] if arches else None
            )
    rec.say(f"Built and pushed {image} and {latest}")
    return image


def _build_and_push(
    ctx: Context,
    engine: BuildEngine,
    image: str,
    also: Sequence[str],
    secrets: Mapping[str, Secret],
    *,
    no_cache: bool,
    arch: str | None,
) -> None:
    """Build ``image`` for ``arch`` on ``engine``, tag it ``also`` too, and push them all."""
    import docker
    import requests

    config = ctx.config
    data, dockerfile, origin = build_context(ctx)
    events = ctx.session.events
    buildkit = bool(secrets) or engine.remote  # a remote engine builds on its BuildKit, as buildx would
    how = f"BuildKit with {len(secrets)} build secret(s)" if secrets else "BuildKit" if buildkit else "Docker SDK"
    events.publish(Started(LOCAL, 0, f"build {image} from {origin} ({how}, {engine.name})"))
    started = time.monotonic()
    client = engine.client
    registry = config.registry
    username = registry.username(config.secrets)
    password = registry.password(config.secrets)
    auth = {
        "username": username.reveal() if isinstance(username, Secret) else str(username or ""),
        "password": password.reveal() if isinstance(password, Secret) else str(password or ""),
    }
    try:
        if auth["username"]:
            # kept in the client's memory for this build (FROM pulls) and the pushes; no file written
            client.login(auth["username"], auth["password"], registry=registry.server)
        kwargs: dict[str, Any] = {
            "fileobj": io.BytesIO(data),
            "custom_context": True,
            "dockerfile": dockerfile,
            "tag": image,
            "buildargs": _build_args(ctx),
            "labels": {"service": config.service},
            "nocache": no_cache,
            "rm": True,
            "pull": False,
            "decode": True,
        }
        if config.builder.target:
            kwargs["target"] = config.builder.target
        if arch:
            kwargs["platform"] = f"linux/{arch}"
        log: list[str] = []
        if buildkit:
            from kamal_nb.build_engine.buildkit import buildkit_build

            services = _session_services(ctx, secrets, auth)
            chunks = buildkit_build(client, engine.url, kwargs, services, name=config.service, shared_key=image)
        else:
            chunks = client.api.build(**kwargs)
        for chunk in chunks:
            text = str(chunk.get("stream") or chunk.get("status") or "")
            if "error" in chunk:
                log.append(str(chunk["error"]))
                raise BuildError(
                    f"building {image} failed: {redact(str(chunk['error']))}\n" + redact("".join(log[-20:]))
                )
            for line in text.splitlines():
                if line.strip():
                    log.append(line + "\n")
                    events.publish(Output(LOCAL, 0, "stdout", redact(line)))
        for reference in also:
            client.images.get(image).tag(reference)
        for reference in (image, *also):
            repository, _, tag = reference.rpartition(":")
            for status in client.images.push(repository, tag=tag, auth_config=auth, stream=True, decode=True):
                if "error" in status:
                    raise BuildError(f"pushing {reference} failed: {redact(str(status['error']))}")
    except (docker.errors.APIError, SessionError) as error:
        raise BuildError(f"building {image} failed: {redact(str(error))}") from None
    except requests.exceptions.RequestException as error:  # the engine's connection broke (an SSH drop)
        raise BuildError(f"building {image} on the {engine.name} failed: the connection broke ({error})") from None
    except BuildError:
        events.publish(Finished(LOCAL, 0, 1, time.monotonic() - started))
        raise
    events.publish(Finished(LOCAL, 0, 0, time.monotonic() - started))


# -- pull ----------------------------------------------------------------------------------------


def pull_commands(ctx: Context, *, ensure_run_directory: bool = False) -> list[Cmd]:
    builder = _builder(ctx)
    commands = [Cmd(Server(ctx.config).ensure_run_directory())] if ensure_run_directory else []
    return [
        *commands,
        Cmd(audit(ctx, f"Pulled image with version {ctx.version}")),
        Cmd(builder.clean(), strict=False),
        Cmd(builder.pull()),
        Cmd(builder.validate_image()),
    ]


def _first_commands(ctx: Context) -> list[Cmd]:
    """Login, and with several hosts the mirror question: a host behind a mirror stops there."""
    commands = registry_login(ctx)
    if len(ctx.selection.app_hosts) > 1:
        note = "a host behind a registry mirror stops here: one host per mirror pulls first, then the others"
        commands.append(Cmd(_builder(ctx).first_mirror(), strict=False, note=note, stop_on="ok"))
    return commands


def pull_items(
    ctx: Context, *, ensure_run_directory: bool = False, then: Mapping[str, Sequence[Do]] | None = None
) -> tuple[Item, ...]:
    """`pull_image` as script items (what a deploy's script runs and plans): the login, the mirror
    question and the pull in one round trip per host, then the seeding waves behind mirrors.
    `then`: actions sent after a host's pull in the same round trip (the deploy lock's acquire).
    With a local registry, all of it runs while the registry's port is forwarded from the hosts."""
    items = _pull_waves(ctx, ensure_run_directory=ensure_run_directory, then=then)
    registry = ctx.config.registry
    if not registry.local:
        return items
    shown = PlannedStep(
        LOCAL,
        f"forward port {registry.local_port} of each app host to 127.0.0.1:{registry.local_port} here",
        note="SSH remote port forwarding on kamal_nb's own connections, for the pulls only",
    )
    return (Around(items, lambda rec: _registry_forwarded(ctx, rec), (shown,)),)


@contextlib.contextmanager
def _registry_forwarded(ctx: Context, rec: Recorder) -> Iterator[None]:
    hosts = ctx.selection.app_hosts
    rec.say(f"Setting up local registry port forwarding to {', '.join(hosts)}...")  # Kamal's words
    unreachable: list[str] = []  # filled when the forwards close: why a pull's connection found no registry
    try:
        with local_registry_forwards(ctx, hosts) as unreachable:  # for the pulls only
            yield
    finally:
        if unreachable:
            rec.say(
                f"The hosts' pulls reached no local registry: {unreachable[0]}. Start it with `kamal registry setup`"
            )


def _pull_waves(
    ctx: Context, *, ensure_run_directory: bool, then: Mapping[str, Sequence[Do]] | None
) -> tuple[Item, ...]:
    hosts = ctx.selection.app_hosts
    after = then or {}

    def do(cmd: Cmd, capture: str | None = None) -> Do:
        return Do(cmd.command, tolerate=not cmd.strict, capture=capture, note=cmd.note, stop_on=cmd.stop_on)

    first = [do(c, MIRROR if c.stop_on else None) for c in _first_commands(ctx)]
    pull = [do(c) for c in pull_commands(ctx, ensure_run_directory=ensure_run_directory)]
    items: list[Item] = [Phase({h: (*first, *pull, *after.get(h, ())) for h in hosts})]
    if len(hosts) <= 1:
        return tuple(items)

    def behind(answers: Answers) -> dict[str, list[str]]:
        mirrors: dict[str, list[str]] = {}
        for host in hosts:
            found = answers.get(host, {}).get(MIRROR)
            if found is not None and found.exit_code == 0:
                mirrors.setdefault(found.stdout.strip(), []).append(host)
        return mirrors

    def check(answers: Answers) -> Verdict:
        failed = {}
        for host in hosts:
            found = answers.get(host, {}).get(MIRROR)
            if found is not None and found.exit_code != 0 and MIRROR_NONE not in found.stderr + found.stdout:
                failed[host] = f"`docker info` failed: {found.stderr.strip() or found.stdout.strip()}"
        return Verdict(failed=failed)

    def wave(index: int) -> Callable[[Answers, str], bool]:
        def member(answers: Answers, host: str) -> bool:
            return any(host in found[index:] if index else host == found[0] for found in behind(answers).values())

        return member

    items.append(Gate(check, "a host behind a registry mirror pulls once one host per mirror has"))
    for index, name in ((0, "one host per registry mirror"), (1, "the other hosts behind a mirror")):
        actions = {h: (*pull, *after.get(h, ())) for h in hosts}
        note = f"pulls now if behind a mirror ({name})"
        items.append(Phase({h: (Only(wave(index), actions[h], note, planned=False),) for h in hosts}))
    return tuple(items)


# -- operations ----------------------------------------------------------------------------------


def push_shown(ctx: Context) -> list[PlannedStep]:
    """What a plan lists for the local build and push (done by Python, on this machine)."""
    builder = _builder(ctx)
    problem = _unsupported(ctx)
    command = builder.push(no_cache=False)
    secrets = ctx.config.builder.secret_names
    how = "on the engine's BuildKit, its session serving builder.secrets," if secrets else "with the Docker SDK"
    engines = engine_split(ctx)
    if engines.remote_builds:
        how = f"on {ctx.config.builder.remote}'s BuildKit over SSH (docker system dial-stdio)"
    arches = ctx.config.builder.arches
    if len(arches) > 1:
        how = (
            f"for {', '.join(arches)}, each on an engine of that arch ({'; '.join(engines.lines())}), pushed as "
            f"<version>-<arch>, then a manifest list put in the registry,"
        )
    note = f"built {how} as: {command}" + (f" — refused: {problem}" if problem else "")
    steps = [PlannedStep(LOCAL, f"build and push {builder.absolute_image} and {builder.latest_image}", note=note)]
    registry = ctx.config.registry
    if registry.local:
        setup = Registry(ctx.config).setup()
        steps.insert(0, PlannedStep(LOCAL, setup, note="the local registry, started first"))
    return steps


def build_script(ctx: Context, name: str, *, push: bool, pull: bool, no_cache: bool = False) -> Script:
    """`build push | pull | deliver`: the local build and push, then the pull on the app hosts."""
    items: list[Item] = []
    if push:

        def pushed(rec: Recorder) -> bool:
            push_image(ctx, rec, no_cache=no_cache)
            return True

        items.append(Call(tuple(push_shown(ctx)), pushed))
    if pull:
        items += pull_items(ctx)
    return Script(f"build {name}", tuple(items), check_secrets=True)


def _operation(name: str, do_push: bool, do_pull: bool) -> None:
    def build(ctx: Context, args: Args) -> Script:
        return build_script(ctx, name, push=do_push, pull=do_pull, no_cache=bool(args.get("no_cache")))

    summaries = {
        "push": "Build and push app image to registry",
        "pull": "Pull app image from registry onto servers",
        "deliver": "Build app and push app image to registry then pull image on servers",
    }
    register_script(("build", name), summaries[name], mutating=True, build=build)


_operation("push", True, False)
_operation("pull", False, True)
_operation("deliver", True, True)
