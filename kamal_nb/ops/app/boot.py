"""`kamal app boot` as one engine script (Kamal 2.12's cli/app.rb, cli/app/boot.rb), in fewer round
trips; its plan and its run come from the same value.

For each boot group (`boot.limit`, primary-role hosts first): hook pre-app-boot, then every host
(roles one after the other, or all at once with `boot.parallel_roles`), then hook post-app-boot and
`sleep boot.wait`. On each host and role (a lane):

1. read: the running versions (for `stale_containers --stop`), the current version, whether a
   container already has the new version's name; `mkdir -p` the env directory (a caller may have
   read these already, in a round trip of its own: `BootRun.read_before`);
2. stop stale containers (but the one kamal-proxy routes to, kept until step 5); rename a clashing container to `<v>_replaced_<hex16>` (audited);
3. upload the role's env file (0600); roles other than the primary one then wait at the barrier for
   the first healthy primary container (Kamal uploads after it: same file, fewer round trips after);
4. audit, `docker run`, then `kamal-proxy deploy` (which waits
   for the health check; its end opens the barrier) or poll the container until running/healthy;
5. stop the old version (and clean up assets and error pages), and a stale container kept in 2.

On failure the new container is stopped (after its logs are fetched, for the primary role) and the
old one keeps serving. After all groups: audit and `docker tag <image> <repo>:latest` on every host.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from kamal_nb.commands import App, Command, container_hostname, replaced_version
from kamal_nb.commands import proxy_paths as paths
from kamal_nb.commands.proxy_options import host_tls_cert, host_tls_key
from kamal_nb.config import Role
from kamal_nb.engine.plan import PlannedStep
from kamal_nb.engine.record import Recorder
from kamal_nb.engine.run import play
from kamal_nb.engine.script import Await, Barrier, Invoke, OnFailure, Only, Pause, Poll, Tell
from kamal_nb.fleet import Upload
from kamal_nb.ops.app.serving import KEPT_NOTE, kept_line, serving_reads, serving_version
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.script import (
    Action,
    Answers,
    Do,
    Item,
    Later,
    Phase,
    RunHook,
    Say,
    Script,
    StepRefused,
    answer,
    plan_script,
    register_script,
)
from kamal_nb.ops.session import Context

RUNNING = "<running version>"
STALE = "<stale version>"
CONTAINER_ID = "<container id>"


@dataclass(frozen=True)
class BootRun:
    """How a boot runs: the version, and what the calling command folds into it."""

    version: str
    stale: bool = False  # `app stale_containers --stop` first (deploy, redeploy)
    command: str = "app"
    subcommand: str | None = "boot"
    # hosts whose reads (`boot_reads`) a caller sent already (rollback's availability check, the
    # deploy lock's round trip): their answers are in the run's answers, under the same names
    read_before: frozenset[str] = frozenset()


def key(role: str, what: str) -> str:
    """The name a lane's answer is captured under (answers are per host; a host has many roles)."""
    return f"{role} {what}"


class _Lane:
    """The actions of one role on one host."""

    def __init__(self, ctx: Context, host: str, role: Role, run: BootRun, barrier: Barrier) -> None:
        self.ctx, self.host, self.role, self.run, self.barrier = ctx, host, role, run, barrier
        self.name = role.name
        self.app = App(ctx.config, role=role, host=host, version=run.version)
        primary = ctx.selection.primary_role
        self.gatekeeper = primary is not None and role.name == primary.name
        self.queuer = not self.gatekeeper and primary is not None
        self.primary_name = primary.name if primary else "primary"
        self.opened_early: list[str] = []  # said once the lane is done: the barrier it opened
        self._renamed: str | None = None

    def _do(self, step: Command | Upload | str, **kwargs: object) -> Do:
        return Do(step, role=self.name, **kwargs)  # type: ignore[arg-type]

    def _audit(self, line: str) -> Command:
        return audit(self.ctx, line, role=self.name)

    def reads(self) -> list[Do]:
        app, version = self.app, self.run.version
        reads = []
        if self.run.stale:
            note = "running versions: all but the current are stale"
            reads.append(self._do(app.list_versions(), tolerate=True, capture=key(self.name, "versions"), note=note))
        note = "the current version, stopped at the end"
        reads.append(
            self._do(app.current_running_version(), tolerate=True, capture=key(self.name, "running"), note=note)
        )
        reads.append(
            self._do(
                app.container_id_for_version(version),
                tolerate=True,
                capture=key(self.name, "clash"),
                note=f"is there a container {version}?",
            )
        )
        # Kamal makes it just before the upload, after the barrier for the other roles; an idempotent
        # mkdir made before the barrier spares them a round trip once it opens
        reads.append(self._do(app.ensure_env_directory()))
        return reads

    # -- what the answers say ----------------------------------------------------------------------

    def running(self, answers: Answers) -> str | None:
        return answer(answers, self.host, key(self.name, "running")) or None

    def stale(self, answers: Answers) -> list[str]:
        if not self.run.stale:
            return []
        running = self.running(answers)
        versions = answer(answers, self.host, key(self.name, "versions")).split("\n")
        return [v for v in versions if v and v != running]

    def kept(self, answers: Answers) -> list[str]:
        """The stale versions not stopped before the new one is healthy: the one kamal-proxy routes to."""
        serving = serving_version(answers, self.host, self.app) if self.role.running_proxy else None
        return [v for v in self.stale(answers) if v == serving]

    def stopped_stale(self, answers: Answers) -> list[str]:
        kept = self.kept(answers)
        return [v for v in self.stale(answers) if v not in kept]

    def clash(self, answers: Answers) -> bool:
        return bool(answer(answers, self.host, key(self.name, "clash")))

    def renamed(self) -> str:
        """The clashing container's new name: random once per run (a lane's value is built per run)."""
        if self._renamed is None:
            self._renamed = replaced_version(self.run.version, self.ctx.session.random_hex(8))
        return self._renamed

    def named_now(self, answers: Answers, version: str) -> str:
        """What a container read before the rename is called now: the new version's name belongs to
        the new container once the clashing one is renamed out of its way."""
        return self.renamed() if version == self.run.version and self.clash(answers) else version

    def old(self, answers: Answers) -> str | None:
        """The version to stop at the end (the renamed container when it was the current one)."""
        running = self.running(answers)
        return self.named_now(answers, running) if running else None

    # -- the lane ----------------------------------------------------------------------------------

    def changes(self) -> list[Action]:
        """Stale containers stopped, a clashing container renamed (before the barrier in Kamal)."""
        app, version = self.app, self.run.version
        shown_rename = replaced_version(version, "<16 hex>")
        actions: list[Action] = []
        if self.run.stale:
            actions.append(
                Later(
                    app.stop(version=STALE),
                    lambda answers, host: [app.stop(version=v) for v in self.stopped_stale(answers)],
                    role=self.name,
                    tolerate=True,
                    note="for each running version but the current one"
                    + (f", {KEPT_NOTE}" if self.role.running_proxy else ""),
                )
            )
        note = f"only if a container {version} exists"
        actions.append(
            Later(
                [
                    self._audit(f"Renaming container {version} to {shown_rename}"),
                    app.rename_container(version=version, new_version=shown_rename),
                ],
                lambda answers, host: (
                    [
                        self._audit(f"Renaming container {version} to {self.renamed()}"),
                        app.rename_container(version=version, new_version=self.renamed()),
                    ]
                    if self.clash(answers)
                    else None
                ),
                role=self.name,
                note=note,
            )
        )
        return actions

    def tell(self) -> Tell:
        def say(answers: Answers, host: str) -> list[str]:
            lines = [
                f"{host}: Stopping stale container for role {self.name} with version {v}"
                for v in self.stopped_stale(answers)
            ]
            lines += [kept_line(host, self.name, v) for v in self.kept(answers)]
            if self.clash(answers):
                lines.append(
                    f"{host}: Renaming container {self.run.version} to {self.renamed()} as already deployed on {host}"
                )
            return lines

        return Tell(say, role=self.name)

    def upload(self) -> Do:
        secrets = self.app.secrets_io().reveal().encode()
        return self._do(Upload(self.app.secrets_path, secrets, 0o600))

    def start(self) -> list[Action]:
        app, version = self.app, self.run.version
        run = Later(
            app.run(hostname=container_hostname(self.host, "<12 hex>")),
            lambda answers, host: app.run(hostname=container_hostname(host, self.ctx.session.random_hex(6))),
            role=self.name,
        )
        actions: list[Action] = [self._do(self._audit(f"Booted app version {version}")), run]
        if self.role.running_proxy:
            actions.append(
                self._do(
                    app.container_id_for_version(version), capture=key(self.name, "new"), note="the new container's id"
                )
            )
        else:
            actions.append(self._do(app.status(version=version), tolerate=True, capture=key(self.name, "status")))
        return actions

    def on_failure(self) -> OnFailure:
        app = self.app
        cleanup: list[Action] = []
        if self.gatekeeper:
            logs = app.logs(container_id=app.container_id_for_version(self.run.version))
            cleanup.append(self._do(logs, capture=key(self.name, "logs")))
            cleanup.append(
                self._do(app.container_health_log(version=self.run.version), capture=key(self.name, "health"))
            )
        cleanup.append(self._do(app.stop(version=self.run.version)))

        def report(answers: Answers, host: str, cleaned: bool) -> list[str]:
            lines = []
            if self.gatekeeper and self.barrier.close():
                lines.append(f"{host}: First {self.name} container is unhealthy, not booting any other roles")
            if cleaned and self.gatekeeper and key(self.name, "logs") in answers.get(host, {}):
                name = app.container_name()
                logs = answer(answers, host, key(self.name, "logs")).splitlines()[-20:]
                lines.append(f"{host}: logs of {name}:\n" + "\n".join(logs))
                lines.append(f"{host}: health of {name}: {answer(answers, host, key(self.name, 'health'))}")
            return lines

        return OnFailure(
            tuple(cleanup), report, role=self.name, failed_as=f"Failed to boot {self.name} on {self.host}: "
        )

    def opened(self) -> list[str]:
        """The barrier opened by this lane (the primary role's first healthy container)."""
        if self.gatekeeper and self.barrier.open() and len(self.ctx.selection.roles) > 1:
            return [f"{self.host}: First {self.name} container is healthy, booting any other roles"]
        return []

    def finish(self) -> list[Action]:
        """The old version stopped and its assets and error pages cleaned up (if one was running)."""
        app, config = self.app, self.ctx.config

        def cleanups(answers: Answers, host: str) -> list[Command]:
            old = self.old(answers)
            commands = [app.stop(version=old)] if old else []
            # the new version is healthy behind the proxy now: the stale one it replaced can go
            return commands + [app.stop(version=self.named_now(answers, v)) for v in self.kept(answers)]

        def tidy(answers: Answers, host: str) -> list[Command]:
            if not self.old(answers):
                return []
            commands = []
            if self.role.assets:
                commands.append(app.clean_up_assets())
            if config.error_pages_path:
                commands.append(app.clean_up_error_pages())
            return commands

        note = "only if a version was running" + (
            "; and the stale container kamal-proxy routed to, if one was kept"
            if self.run.stale and self.role.running_proxy
            else ""
        )
        tidy_shown: list[Command] = []
        if self.role.assets:
            tidy_shown.append(app.clean_up_assets())
        if config.error_pages_path:
            tidy_shown.append(app.clean_up_error_pages())
        return [
            Later(app.stop(version=RUNNING), cleanups, role=self.name, tolerate=True, note=note),
            Later(tidy_shown, tidy, role=self.name, note="only if a version was running"),
        ]

    def actions(self) -> list[Action]:
        app, version, name = self.app, self.run.version, self.name
        actions: list[Action] = [] if self.host in self.run.read_before else list(self.reads())
        if self.run.stale and self.role.running_proxy:
            # which container kamal-proxy routes to matters only when a stale one runs: a round trip
            # more then, instead of a `docker exec` into the proxy in every deploy's reads
            serving = tuple(serving_reads(app, name))
            actions.append(
                Only(lambda answers, host: bool(self.stale(answers)), serving, "only when a stale container runs")
            )
        actions.append(self.tell())
        if self.queuer:
            actions += self.changes()
            refused = f"First {self.primary_name} container is unhealthy, not booting {name} on {self.host}"
            note = f"after the first healthy {self.primary_name} container"
            # Kamal uploads after the barrier; before it, the upload's round trips overlap the primary's
            # health check instead of following it. A running container read its env file when it
            # started, so a role the barrier then refuses keeps serving as it was.
            actions += [self.upload(), Await(self.barrier, refused, note, role=name)]
        else:
            actions += [self.upload(), *self.changes()]
        actions.append(self.on_failure())
        actions += self.start()
        if self.role.running_proxy:

            def deploy(answers: Answers, host: str) -> Command:
                target = answer(answers, host, key(name, "new"))
                if not target:
                    raise StepRefused(f"Failed to get endpoint for {name} on {host}, did the container boot?")
                return app.deploy(target=target)

            def healthy(exit_code: int) -> None:
                if exit_code == 0:  # the other roles need not wait for the old version's stop
                    self.opened_early = self.opened()

            actions.append(
                Later(
                    app.deploy(target=CONTAINER_ID),
                    deploy,
                    role=name,
                    note="waits for the health check",
                    on_done=healthy,
                    settles=True,
                )
            )
            actions += self.finish()
            actions.append(Tell(lambda answers, host: [*self.opened_early, *self.opened()], role=name))
        else:
            config = self.ctx.config
            actions.append(
                Poll(
                    app.status(version=version),
                    key(name, "status"),
                    lambda status: status in ("running", "healthy"),
                    config.deploy_timeout,
                    lambda status: (
                        f"Failed to boot {name} on {self.host}: container not ready after "
                        f"{config.deploy_timeout} seconds ({status})"
                    ),
                    delay=lambda status: config.readiness_delay if status == "running" else 0.0,
                    note="polled until running/healthy",
                    role=name,
                )
            )
            actions += [OnFailure(), Tell(lambda answers, host: self.opened(), role=name), *self.finish()]
        return actions


def boot_groups(ctx: Context) -> list[tuple[str, ...]]:
    hosts = ctx.selection.app_hosts
    limit = ctx.config.boot.limit
    if not limit:
        return [hosts] if hosts else []
    return [hosts[i : i + limit] for i in range(0, len(hosts), limit)]


def _lanes(ctx: Context, run: BootRun, host: str, barrier: Barrier) -> list[_Lane]:
    return [_Lane(ctx, host, role, run, barrier) for role in ctx.selection.roles_on(host)]


def boot_reads(ctx: Context, run: BootRun, host: str) -> list[Do]:
    """What the boot reads first on `host`, every role's in turn, captured under the names the boot
    reads them by: a caller may send them ahead (then `BootRun.read_before` names the host)."""
    return [read for lane in _lanes(ctx, run, host, Barrier()) for read in lane.reads()]


def tag_actions(ctx: Context, version: str) -> tuple[Do, ...]:
    app = App(ctx.config, version=version)
    return (Do(audit(ctx, f"Tagging {app.absolute_image} as the latest image")), Do(app.tag_latest_image()))


def plan_notes(ctx: Context) -> list[str]:
    notes = []
    limit, wait = ctx.config.boot.limit, ctx.config.boot.wait
    if limit:
        notes.append(f"boot groups of {limit} hosts: {' | '.join(','.join(g) for g in boot_groups(ctx))}")
    if wait:
        notes.append(f"sleep {wait}s after each boot group")
    if ctx.config.boot.parallel_roles:
        notes.append("roles boot in parallel (boot.parallel_roles)")
    return notes


def boot_script(ctx: Context, run: BootRun, operation: str = "app boot") -> Script:
    """The boot of `run.version` on the selected app hosts, under the deploy lock."""
    barrier = Barrier()
    items: list[Item] = list(_preparations(ctx, run.version))
    for group in boot_groups(ctx):
        hosts = list(group)
        items.append(RunHook("pre-app-boot", group, run.command, run.subcommand))
        items.append(Say(f"Start container with version {run.version} on {','.join(group)}"))
        lanes = {host: _lanes(ctx, run, host, barrier) for host in hosts}
        # the primary role's hosts first: the others wait for them at the barrier
        ordered = sorted(hosts, key=lambda h: 0 if any(lane.gatekeeper for lane in lanes[h]) else 1)
        steps = {host: tuple(action for lane in lanes[host] for action in lane.actions()) for host in ordered}
        items.append(Phase(steps, parallel_roles=ctx.config.boot.parallel_roles, all_at_once=True))
        items.append(RunHook("post-app-boot", group, run.command, run.subcommand))
        if ctx.config.boot.wait:
            items.append(Pause(ctx.config.boot.wait, f"sleep {ctx.config.boot.wait}s after each boot group"))
    items.append(Phase({host: tag_actions(ctx, run.version) for host in ctx.selection.app_hosts}))
    notes = ("env files are uploaded with mode 0600", *plan_notes(ctx))
    return Script(operation, tuple(items), lock=True, notes=notes, check_secrets=True)


# -- the preparation on each app host (cli/app's ErrorPages, Assets and SslCertificates) -----------


def _preparations(ctx: Context, version: str) -> list[Phase]:
    pages = _error_pages(ctx.config.error_pages_path, ctx.session.root, version)
    steps: dict[str, tuple[Action, ...]] = {}
    for host in ctx.selection.app_hosts:
        actions: list[Action] = []
        if pages:
            app = App(ctx.config, host=host, version=version)
            directory = f"{paths.error_pages_directory(ctx.config)}/{version}"
            actions += [Do(app.create_error_pages_directory()), Do(app.make_directory(directory))]
            actions += [Do(Upload(f"{directory}/{name}", content, mode)) for name, content, mode in pages]
        for role in ctx.selection.roles_on(host):
            app = App(ctx.config, role=role, host=host, version=version)
            if role.assets:
                running = f"{role.name} assets running"
                actions += [
                    Do(app.extract_assets(), role=role.name),
                    Do(app.current_running_version(), role=role.name, tolerate=True, capture=running),
                    _asset_sync(app, role.name, running),
                ]
            actions += _certificates(ctx, app, role)
        if actions:
            steps[host] = tuple(actions)
    return [Phase(steps)] if steps else []


def _asset_sync(app: App, role: str, running: str) -> Later:
    def build(answers: Answers, host: str) -> Command:
        return app.sync_asset_volumes(old_version=answer(answers, host, running) or None)

    note = "the <running version> parts only if a version is running"
    return Later(app.sync_asset_volumes(old_version=RUNNING), build, role=role, note=note)


def _certificates(ctx: Context, app: App, role: Role) -> list[Action]:
    proxy = role.proxy
    if not _custom_certificate(role) or proxy is None:
        return []
    config = ctx.config
    actions: list[Action] = [Do(app.create_ssl_directory(), role=role.name)]
    for secret, path in (
        (proxy.certificate_pem_secret, host_tls_cert(proxy, config)),
        (proxy.private_key_pem_secret, host_tls_key(proxy, config)),
    ):
        if secret and path:
            value = config.secrets[secret]
            text = value.reveal() if hasattr(value, "reveal") else str(value)
            actions.append(Do(Upload(path, text.encode(), 0o644), role=role.name))
    return actions


def _custom_certificate(role: Role) -> bool:
    return role.running_proxy and role.proxy is not None and role.proxy.custom_ssl_certificate


def _error_pages(path: str | None, root: Path, version: str) -> list[tuple[str, bytes, int]]:
    """Each page's name, content and mode on the hosts. Kamal's `upload!(dir, mode: "0700",
    recursive: true)` does not give its files that mode: scp sends each file's own mode, which the
    copy into Kamal's temporary directory and the remote end both trim with their umask (022)."""
    if not path:
        return []
    directory = root / path
    files = sorted(p for p in directory.glob("[45]??.html") if p.is_file())
    return [(p.name, p.read_bytes(), p.stat().st_mode & 0o755) for p in files]


def with_version(ctx: Context, version: str) -> Context:
    """The same command seen with another version (Kamal's `KAMAL.config.version = …`)."""
    if ctx.options.version == version:
        return ctx
    return ctx.derived(replace(ctx.options, version=version))


def boot(ctx: Context, rec: Recorder, run: BootRun) -> bool:
    """Boot inside another operation (deploy, rollback, upgrade); False when a host failed."""
    return play(ctx, rec, boot_script(ctx, run))


def plan_boot(ctx: Context, run: BootRun) -> list[PlannedStep]:
    """The boot's steps, for the plan of an operation that boots inside it (from the same script)."""
    return list(plan_script(ctx, boot_script(ctx, run)).steps)


def _app_boot(ctx: Context, args: Args) -> Script:
    version = ctx.options.version or ctx.config.latest_tag
    booted = with_version(ctx, version)
    script = boot_script(booted, BootRun(version))
    return Script("app boot", (Invoke(script, booted),), lock=True, notes=script.notes, check_secrets=True)


register_script(
    ("app", "boot"), "Boot app on servers (or reboot app if already running)", mutating=True, build=_app_boot
)

__all__ = [
    "CONTAINER_ID",
    "RUNNING",
    "STALE",
    "BootRun",
    "boot",
    "boot_groups",
    "boot_reads",
    "boot_script",
    "key",
    "plan_boot",
    "plan_notes",
    "tag_actions",
    "with_version",
]
