"""`kamal app boot` as Kamal 2.12 does it (cli/app.rb, cli/app/boot.rb), in fewer round trips.

For each boot group (`boot.limit`, primary-role hosts first): hook pre-app-boot, then every host
(roles one after the other, or all at once with `boot.parallel_roles`), then hook post-app-boot and
`sleep boot.wait`. On each host and role:

1. read: the running versions (for `stale_containers --stop`), the current version, whether a
   container already has the new version's name; `mkdir -p` the env directory;
2. stop stale containers; rename a clashing container to `<v>_replaced_<hex16>` (audited);
3. roles other than the primary one wait at the barrier for the first healthy primary container;
4. upload the role's env file (0600); audit, `docker run`, then `kamal-proxy deploy` (which waits
   for the health check) or poll the container until running/healthy (readiness delay, deploy
   timeout, as Kamal's Poller);
5. stop the old version (and clean up assets and error pages).

On failure the new container is stopped (after its logs are fetched, for the primary role) and the
old one keeps serving. After all groups: audit and `docker tag <image> <repo>:latest` on every host.

Commands that do not depend on each other's answers go in one round trip (a GuardedBatch).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from kamal_nb.commands import App, container_hostname, replaced_version
from kamal_nb.commands import proxy_paths as paths
from kamal_nb.commands.proxy_options import host_tls_cert, host_tls_key
from kamal_nb.config import Role
from kamal_nb.engine.run import run_operation
from kamal_nb.fleet import Upload
from kamal_nb.fleet.fanout import fan_out
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args, register
from kamal_nb.ops.hooks import run_hook
from kamal_nb.ops.plan import Plan, PlannedStep
from kamal_nb.ops.result import OperationResult
from kamal_nb.ops.session import Context
from kamal_nb.ops.steps import Cmd, Interrupted, Recorder, Reply, Trip, planned, send

RUNNING = "<running version>"
STALE = "<stale version>"
CONTAINER_ID = "<container id>"


class BootError(Exception):
    """A role could not be booted on a host; the message names the host and the reason."""

    def __init__(self, message: str, *, reachable: bool = True, stop_new: bool = True) -> None:
        super().__init__(message)
        self.reachable = reachable  # False: the host stopped answering, nothing more is sent to it
        self.stop_new = stop_new  # False: the new version is healthy and stays (a later step failed)


class Barrier:
    """Kamal's Healthcheck::Barrier: opened by the first healthy primary-role container, closed by
    the first unhealthy one (whichever comes first wins); the other roles wait for it."""

    def __init__(self) -> None:
        self._set = threading.Event()
        self._value = False
        self._lock = threading.Lock()

    def _resolve(self, value: bool) -> bool:
        with self._lock:
            if self._set.is_set():
                return False
            self._value = value
            self._set.set()
            return True

    def open(self) -> bool:
        return self._resolve(True)

    def close(self) -> bool:
        return self._resolve(False)

    def wait(self, cancelled: threading.Event) -> bool:
        while not self._set.wait(0.1):
            if cancelled.is_set():
                raise Interrupted()
        return self._value


@dataclass(frozen=True)
class Found:
    """What a host answered about a role before the boot."""

    stale: tuple[str, ...]
    running: str | None  # the current version, before any rename
    clash: bool  # a container already has the new version's name

    @classmethod
    def parse(cls, reply: Reply, *, stale: bool) -> Found:
        offset = 1 if stale else 0
        running = reply.out(offset) or None
        versions = [v for v in reply.out(0).split("\n") if v] if stale else []
        return cls(tuple(v for v in versions if v != running), running, bool(reply.out(offset + 1)))


@dataclass(frozen=True)
class BootRun:
    """How a boot runs: the version, and what the calling command folds into it."""

    version: str
    stale: bool = False  # `app stale_containers --stop` first (deploy, redeploy)
    command: str = "app"
    subcommand: str | None = "boot"
    # answers read just before (rollback's availability check), by (host, role): no second read,
    # and the env directory was made in that round trip
    prefetched: Mapping[tuple[str, str], Found] = field(default_factory=dict)


class _RoleBoot:
    """The steps for one role on one host; the same code lists them in plans and runs them."""

    def __init__(self, ctx: Context, host: str, role: Role, run: BootRun, gatekeeper: bool, queuer: bool) -> None:
        self.ctx, self.host, self.role, self.run = ctx, host, role, run
        self.version = run.version
        self.app = App(ctx.config, role=role, host=host, version=run.version)
        self.gatekeeper, self.queuer = gatekeeper, queuer

    def _audit(self, line: str) -> Cmd:
        return Cmd(audit(self.ctx, line, role=self.role.name))

    def reads(self) -> list[Cmd]:
        app = self.app
        commands = []
        if self.run.stale:
            commands.append(
                Cmd(app.list_versions(), strict=False, note="running versions: all but the current are stale")
            )
        commands.append(
            Cmd(app.current_running_version(), strict=False, note="the current version, stopped at the end")
        )
        commands.append(
            Cmd(app.container_id_for_version(self.version), strict=False, note=f"is there a container {self.version}?")
        )
        # Kamal makes it just before the upload, after the barrier for the other roles; an idempotent
        # mkdir made before the barrier spares them a round trip once it opens
        commands.append(Cmd(app.ensure_env_directory()))
        return commands

    def changes(self, found: Found | None, renamed: str) -> list[Cmd]:
        """Stale containers stopped, a clashing container renamed (before the barrier in Kamal)."""
        app, commands = self.app, []
        for version in found.stale if found else ((STALE,) if self.run.stale else ()):
            note = None if found else "for each running version but the current one"
            commands.append(Cmd(app.stop(version=version), strict=False, note=note))
        if found is None or found.clash:
            note = None if found else f"only if a container {self.version} exists"
            commands.append(replace(self._audit(f"Renaming container {self.version} to {renamed}"), note=note))
            commands.append(Cmd(app.rename_container(version=self.version, new_version=renamed), note=note))
        return commands

    def upload(self) -> Upload:
        return Upload(self.app.secrets_path, self.app.secrets_io().reveal().encode(), 0o600)

    def start(self, hostname: str) -> list[Cmd]:
        app = self.app
        commands = [self._audit(f"Booted app version {self.version}"), Cmd(app.run(hostname=hostname))]
        if self.role.running_proxy:
            commands.append(Cmd(app.container_id_for_version(self.version), note="the new container's id"))
        else:
            commands.append(Cmd(app.status(version=self.version), strict=False, note="polled until running/healthy"))
        return commands

    def finish(
        self, container_id: str | None, old: str | None, on_deployed: Callable[[int], None] | None = None
    ) -> list[Cmd]:
        app, commands = self.app, []
        if self.role.running_proxy:
            deploy = app.deploy(target=container_id or CONTAINER_ID)
            commands.append(Cmd(deploy, note="waits for the health check", on_done=on_deployed))
        if old:
            note = None if old != RUNNING else "only if a version was running"
            commands.append(Cmd(app.stop(version=old), strict=False, note=note))
            if self.role.assets:
                commands.append(Cmd(app.clean_up_assets(), note=note))
            if self.ctx.config.error_pages_path:
                commands.append(Cmd(app.clean_up_error_pages(), note=note))
        return commands

    def on_failure(self) -> list[Cmd]:
        app = self.app
        commands = []
        if self.gatekeeper:
            commands.append(Cmd(app.logs(container_id=app.container_id_for_version(self.version)), strict=False))
            commands.append(Cmd(app.container_health_log(version=self.version), strict=False))
        commands.append(Cmd(app.stop(version=self.version), strict=False))
        return commands

    # -- plan ------------------------------------------------------------------------------------

    def plan(self) -> list[PlannedStep]:
        host, role = self.host, self.role.name
        renamed = replaced_version(self.version, "<16 hex>")
        hostname = container_hostname(self.host, "<12 hex>")
        read = (self.host, self.role.name) not in self.run.prefetched
        steps = planned(host, self.reads(), role) if read else []
        if self.queuer:
            steps += planned(host, self.changes(None, renamed), role)
            primary = self.ctx.selection.primary_role
            steps += [
                replace(step, note=f"after the first healthy {primary.name if primary else 'primary'} container")
                for step in planned(host, self.upload(), role)
            ]
        else:
            steps += planned(host, self.upload(), role)
            steps += planned(host, self.changes(None, renamed), role)
        steps += planned(host, self.start(hostname), role)
        steps += planned(host, self.finish(None, RUNNING), role)
        return steps

    # -- run -------------------------------------------------------------------------------------

    def execute(self, rec: Recorder, barrier: Barrier) -> None:
        ctx, host = self.ctx, self.host
        found = self.run.prefetched.get((host, self.role.name))
        if found is None:
            found = Found.parse(self._send(rec, self.reads(), "reading the containers"), stale=self.run.stale)
        renamed = replaced_version(self.version, ctx.session.random_hex(8))
        old = renamed if found.clash and found.running == self.version else found.running
        changes = self.changes(found, renamed)
        for version in found.stale:
            rec.say(f"{host}: Stopping stale container for role {self.role.name} with version {version}")
        if found.clash:
            rec.say(f"{host}: Renaming container {self.version} to {renamed} as already deployed on {host}")
        if self.queuer:
            if changes:
                self._send(rec, changes, "stopping stale containers")
            primary = ctx.selection.primary_role
            primary_name = primary.name if primary else "primary"
            if not barrier.wait(rec.cancelled):
                raise BootError(f"First {primary_name} container is unhealthy, not booting {self.role.name} on {host}")
            changes = []
        finished: Reply | None = None
        try:
            self._send(rec, self.upload(), "uploading the env file")
            hostname = container_hostname(host, ctx.session.random_hex(6))
            start = changes + self.start(hostname)
            answer = self._send(rec, start, "starting the new container").out(len(start) - 1)
            if self.role.running_proxy:
                if not answer:
                    raise BootError(f"Failed to get endpoint for {self.role.name} on {host}, did the container boot?")

                def deployed(exit_code: int) -> None:
                    if exit_code == 0:  # healthy: the other roles need not wait for the old one's stop
                        self._open(rec, barrier)

                # kamal-proxy deploy, then (only if it succeeded) the old version's stop: one round trip
                finished = send(ctx, rec, {host: self.finish(answer, old, deployed)})[host]
                if finished.error is not None and finished.code(0) != 0:
                    raise BootError(f"{host} unreachable while deploying: {finished.error}", reachable=False)
                if finished.code(0) != 0:
                    raise BootError(f"Failed to boot {self.role.name} on {host}: {finished.failure}")
            else:
                self._wait_until_ready(rec, answer)
        except BootError as error:
            self._fail(rec, barrier, error)
            raise
        self._open(rec, barrier)
        if finished is not None and not finished.ok:
            raise BootError(f"{host}: {finished.failure or finished.error}", stop_new=False)
        if old and not self.role.running_proxy:
            self._send(rec, self.finish(None, old), "stopping the old version", stop_new=False)

    def _open(self, rec: Recorder, barrier: Barrier) -> None:
        if self.gatekeeper and barrier.open() and len(self.ctx.selection.roles) > 1:
            rec.say(f"{self.host}: First {self.role.name} container is healthy, booting any other roles")

    def _wait_until_ready(self, rec: Recorder, status: str) -> None:
        """Kamal's Healthcheck::Poller: running (after the readiness delay) or healthy, in time."""
        config = self.ctx.config
        poll = [Cmd(self.app.status(version=self.version), strict=False)]
        attempt, deadline = 1, time.monotonic() + config.deploy_timeout
        while True:
            if status == "running" and config.readiness_delay > 0:
                self._sleep(rec, config.readiness_delay)
                status = self._send(rec, poll, "checking the container").out(0)
            if status in ("running", "healthy"):
                return
            left = deadline - time.monotonic()
            if left <= 0:
                raise BootError(
                    f"Failed to boot {self.role.name} on {self.host}: container not ready after "
                    f"{config.deploy_timeout} seconds ({status})"
                )
            self._sleep(rec, min(attempt, left))
            attempt += 1
            status = self._send(rec, poll, "checking the container").out(0)

    @staticmethod
    def _sleep(rec: Recorder, seconds: float) -> None:
        if rec.cancelled.wait(seconds):
            raise Interrupted()

    def _send(self, rec: Recorder, trip: list[Cmd] | Upload, doing: str, *, stop_new: bool = True) -> Reply:
        reply = send(self.ctx, rec, {self.host: trip})[self.host]
        if reply.error is not None:
            raise BootError(f"{self.host} unreachable while {doing}: {reply.error}", reachable=False, stop_new=stop_new)
        if not reply.ok:
            raise BootError(f"Failed to boot {self.role.name} on {self.host}: {reply.failure}", stop_new=stop_new)
        return reply

    def _fail(self, rec: Recorder, barrier: Barrier, error: BootError) -> None:
        ctx, host = self.ctx, self.host
        if self.gatekeeper and barrier.close():
            rec.say(f"{host}: First {self.role.name} container is unhealthy, not booting any other roles")
        if not error.reachable or not error.stop_new or rec.cancelled.is_set():
            return
        cleanup = self.on_failure()
        reply = send(ctx, rec, {host: cleanup})[host]
        if self.gatekeeper and reply.results:
            logs = reply.out(0).splitlines()[-20:]
            rec.say(f"{host}: logs of {self.app.container_name()}:\n" + "\n".join(logs))
            rec.say(f"{host}: health of {self.app.container_name()}: {reply.out(1)}")


def boot_groups(ctx: Context) -> list[tuple[str, ...]]:
    hosts = ctx.selection.app_hosts
    limit = ctx.config.boot.limit
    if not limit:
        return [hosts] if hosts else []
    return [hosts[i : i + limit] for i in range(0, len(hosts), limit)]


def _role_boots(ctx: Context, run: BootRun, host: str) -> list[_RoleBoot]:
    primary = ctx.selection.primary_role
    boots = []
    for role in ctx.selection.roles_on(host):
        gatekeeper = primary is not None and role.name == primary.name
        boots.append(_RoleBoot(ctx, host, role, run, gatekeeper, not gatekeeper and primary is not None))
    return boots


def host_reads(ctx: Context, run: BootRun, host: str) -> list[Cmd]:
    """What the boot reads first on `host`, every role's in turn (to send ahead: see `found_in`)."""
    return [cmd for boot in _role_boots(ctx, run, host) for cmd in boot.reads()]


def found_in(ctx: Context, run: BootRun, host: str, reply: Reply) -> dict[tuple[str, str], Found]:
    """The answers to `host_reads`, by (host, role), for `BootRun.prefetched`."""
    found, start = {}, 0
    for boot in _role_boots(ctx, run, host):
        count = len(boot.reads())
        found[(host, boot.role.name)] = Found.parse(reply.part(start, start + count), stale=run.stale)
        start += count
    return found


def tag_commands(ctx: Context, version: str) -> list[Cmd]:
    app = App(ctx.config, version=version)
    return [Cmd(audit(ctx, f"Tagging {app.absolute_image} as the latest image")), Cmd(app.tag_latest_image())]


def plan_boot(ctx: Context, run: BootRun) -> list[PlannedStep]:
    steps: list[PlannedStep] = []
    for preparation in _preparations(ctx, run.version):
        steps += preparation.plan()
    for group in boot_groups(ctx):
        for host in group:
            for boot in _role_boots(ctx, run, host):
                steps += boot.plan()
    for host in ctx.selection.app_hosts:
        steps += planned(host, tag_commands(ctx, run.version))
    return steps


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


class _Preparation:
    """Kamal's preparation on one app host before the boot groups (cli/app's ErrorPages, Assets and
    SslCertificates, in that order); the same steps make the plan and the run."""

    def __init__(self, ctx: Context, host: str, version: str, pages: Sequence[tuple[str, bytes, int]]) -> None:
        self.ctx, self.host, self.version, self.pages = ctx, host, version, pages

    def needed(self) -> bool:
        return bool(self.pages) or any(
            r.assets or _custom_certificate(r) for r in self.ctx.selection.roles_on(self.host)
        )

    def _app(self, role: Role | None = None) -> App:
        return App(self.ctx.config, role=role, host=self.host, version=self.version)

    def error_pages(self) -> list[Trip]:
        if not self.pages:
            return []
        app = self._app()
        directory = f"{paths.error_pages_directory(self.ctx.config)}/{self.version}"
        trips: list[Trip] = [[Cmd(app.create_error_pages_directory()), Cmd(app.make_directory(directory))]]
        return trips + [Upload(f"{directory}/{name}", content, mode) for name, content, mode in self.pages]

    def asset_reads(self, role: Role) -> list[Cmd]:
        app = self._app(role)
        return [Cmd(app.extract_assets()), Cmd(app.current_running_version(), strict=False)]

    def asset_sync(self, role: Role, old_version: str | None) -> list[Cmd]:
        return [Cmd(self._app(role).sync_asset_volumes(old_version=old_version))]

    def certificates(self, role: Role) -> list[Trip]:
        proxy = role.proxy
        if not _custom_certificate(role) or proxy is None:
            return []
        config = self.ctx.config
        trips: list[Trip] = [[Cmd(self._app(role).create_ssl_directory())]]
        for secret, path in (
            (proxy.certificate_pem_secret, host_tls_cert(proxy, config)),
            (proxy.private_key_pem_secret, host_tls_key(proxy, config)),
        ):
            if secret and path:
                value = config.secrets[secret]
                text = value.reveal() if hasattr(value, "reveal") else str(value)
                trips.append(Upload(path, text.encode(), 0o644))
        return trips

    def plan(self) -> list[PlannedStep]:
        host, steps = self.host, []
        for trip in self.error_pages():
            steps += planned(host, trip)
        for role in self.ctx.selection.roles_on(host):
            if role.assets:
                steps += planned(host, self.asset_reads(role), role.name)
                sync = self.asset_sync(role, RUNNING)
                steps += planned(
                    host,
                    [replace(c, note="the <running version> parts only if a version is running") for c in sync],
                    role.name,
                )
            for trip in self.certificates(role):
                steps += planned(host, trip, role.name)
        return steps

    def run(self, rec: Recorder) -> bool:
        def ok(trip: Trip) -> Reply | None:
            reply = send(self.ctx, rec, {self.host: trip})[self.host]
            return reply if reply.ok else None

        if not all(ok(trip) for trip in self.error_pages()):
            return False
        for role in self.ctx.selection.roles_on(self.host):
            if role.assets:
                reply = ok(self.asset_reads(role))
                if reply is None or not ok(self.asset_sync(role, reply.out(1) or None)):
                    return False
            if not all(ok(trip) for trip in self.certificates(role)):
                return False
        return True


def _custom_certificate(role: Role) -> bool:
    return role.running_proxy and role.proxy is not None and role.proxy.custom_ssl_certificate


def _preparations(ctx: Context, version: str) -> list[_Preparation]:
    pages = _error_pages(ctx.config.error_pages_path, ctx.session.root, version)
    preparations = [_Preparation(ctx, host, version, pages) for host in ctx.selection.app_hosts]
    return [p for p in preparations if p.needed()]


def _prepare(ctx: Context, rec: Recorder, version: str) -> bool:
    """The preparation on every app host at once; False when a host failed."""
    preparations = {p.host: p for p in _preparations(ctx, version)}
    failed: list[str] = []

    def one(host: str) -> None:
        if not preparations[host].run(rec):
            failed.append(host)

    _parallel(ctx, list(preparations), one, rec)
    return not failed


def _error_pages(path: str | None, root: Path, version: str) -> list[tuple[str, bytes, int]]:
    """Each page's name, content and mode on the hosts. Kamal's `upload!(dir, mode: "0700",
    recursive: true)` does not give its files that mode: scp sends each file's own mode, which the
    copy into Kamal's temporary directory and the remote end both trim with their umask (022)."""
    if not path:
        return []
    directory = root / path
    files = sorted(p for p in directory.glob("[45]??.html") if p.is_file())
    return [(p.name, p.read_bytes(), p.stat().st_mode & 0o755) for p in files]


def _parallel(ctx: Context, items: Sequence[str], work: Callable[[str], None], rec: Recorder) -> None:
    """Run `work` for every item at once (the one thread pool); an interrupt stops them all."""

    def one(item: str) -> None:
        try:
            work(item)
        except (KeyboardInterrupt, Interrupted):
            raise
        except Exception as problem:  # a bug in one host's work: that host fails, the others go on
            rec.fail(item.split("\0")[0], f"{type(problem).__name__}: {problem}")

    fan_out(items, one, workers=max(1, len(items)), cancel=rec.cancelled, name="kamal-nb-boot")


def boot(ctx: Context, rec: Recorder, run: BootRun) -> bool:
    """Boot the app on the selected hosts (the caller holds the lock); False when a host failed."""
    if not _prepare(ctx, rec, run.version):
        return False
    barrier = Barrier()
    parallel_roles = ctx.config.boot.parallel_roles
    for group in boot_groups(ctx):
        group_list = ",".join(group)
        run_hook(ctx, "pre-app-boot", command=run.command, subcommand=run.subcommand, hosts=list(group))
        rec.say(f"Start container with version {run.version} on {group_list}")
        units: dict[str, list[_RoleBoot]] = {}
        for host in group:
            boots = _role_boots(ctx, run, host)
            if parallel_roles:
                units.update({f"{host}\0{b.role.name}": [b] for b in boots})
            else:
                units[host] = boots
        ordered = sorted(units, key=lambda key: 0 if any(b.gatekeeper for b in units[key]) else 1)

        def work(key: str, units: dict[str, list[_RoleBoot]] = units) -> None:
            for role_boot in units[key]:
                try:
                    role_boot.execute(rec, barrier)
                except BootError as error:
                    rec.fail(role_boot.host, str(error))
                    return

        _parallel(ctx, ordered, work, rec)
        if any(rec.failed(host) for host in group):
            return False
        run_hook(ctx, "post-app-boot", command=run.command, subcommand=run.subcommand, hosts=list(group))
        if ctx.config.boot.wait and rec.cancelled.wait(ctx.config.boot.wait):
            raise Interrupted()
    replies = send(ctx, rec, {host: tag_commands(ctx, run.version) for host in ctx.selection.app_hosts})
    return all(r.ok for r in replies.values())


def with_version(ctx: Context, version: str) -> Context:
    """The same command seen with another version (Kamal's `KAMAL.config.version = …`)."""
    if ctx.options.version == version:
        return ctx
    return ctx.derived(replace(ctx.options, version=version))


# -- kamal app boot ------------------------------------------------------------------------------


def _boot_version(ctx: Context) -> str:
    return ctx.options.version or ctx.config.latest_tag


def _boot_plan(ctx: Context, args: Args) -> Plan:
    version = _boot_version(ctx)
    booted = with_version(ctx, version)
    notes = ["env files are uploaded with mode 0600; the deploy lock is held throughout", *plan_notes(ctx)]
    return Plan("app boot", tuple(plan_boot(booted, BootRun(version))), tuple(notes))


def _boot_run(ctx: Context, args: Args) -> OperationResult:
    version = _boot_version(ctx)

    def body(rec: Recorder) -> bool:
        return boot(with_version(ctx, version), rec, BootRun(version))  # derived under the lock: holds it

    return run_operation(ctx, "app boot", body, lock=True)


register(
    ("app", "boot"),
    "Boot app on servers (or reboot app if already running)",
    mutating=True,
    plan=_boot_plan,
    run=_boot_run,
)
