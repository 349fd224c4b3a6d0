"""A Session lives as long as the kernel: the loaded configuration and warm SSH connections.

Each command gets a Context: the session seen through that command's global options.

    session = Session(root="path/to/app")
    ctx = session.context(GlobalOptions(destination="staging", roles=("web",)))
    ctx.config, ctx.selection.hosts, ctx.runner
"""

from __future__ import annotations

import dataclasses
import datetime
import getpass
import secrets
import subprocess
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

from kamal_nb.config import Config, load_config
from kamal_nb.engine.plan import Plan
from kamal_nb.fleet import EventStream, FleetRunner, GroupResult, SshSettings, Step
from kamal_nb.fleet.runner import HostPool
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.selection import Selection
from kamal_nb.ops.transport import ssh_settings

# Where a session's commands run: a pool for given SSH settings (see Session.backend).
Backend = Callable[[SshSettings], HostPool]


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""


@dataclass
class Session:
    root: Path = field(default_factory=Path.cwd)
    env: Mapping[str, str] | None = None  # None: this process's environment
    events: EventStream = field(default_factory=EventStream)
    command_timeout: float | None = None
    connect_timeout: float = 30.0
    # the SSH liveness rule: a host silent for interval x count_max seconds (asked every interval) is lost
    keepalive_interval: float = 15.0
    keepalive_count_max: int = 3
    parallelism: int = 0  # hosts worked on at once; 0: deploy.yml's sshkit.max_concurrent_starts
    clock: Callable[[], datetime.datetime] = field(default=lambda: datetime.datetime.now(datetime.UTC))
    random_hex: Callable[[int], str] = field(default=lambda n: secrets.token_hex(n))
    # the pool that carries commands to the hosts, for given SSH settings (a sandbox fleet:
    # kamal_nb.sandbox.backend); None: SSH connections to the real hosts. Passed in by the caller.
    backend: Backend | None = None

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self._configs: dict[tuple[object, ...], tuple[tuple[float, ...], Config]] = {}
        self._runners: dict[SshSettings, FleetRunner] = {}
        self._lock = threading.Lock()

    def context(self, options: GlobalOptions | None = None) -> Context:
        return Context(self, options or GlobalOptions())

    def load_config(self, options: GlobalOptions) -> Config:
        """The configuration for these options, loaded again only when a config file changed."""
        key = (options.config_file, options.destination, options.version)
        with self._lock:
            cached = self._configs.get(key)
            if cached is not None and cached[0] == self._mtimes(cached[1]):
                return cached[1]
        config = load_config(
            options.config_file, destination=options.destination, version=options.version, root=self.root, env=self.env
        )
        with self._lock:
            self._configs[key] = (self._mtimes(config), config)
        return config

    def _mtimes(self, config: Config) -> tuple[float, ...]:
        # the secrets files too: a Config keeps the secret values it read, and a runbook that rotates
        # a secret in .kamal/secrets expects the next command of the same kernel to use the new value
        filenames = getattr(config.secrets, "filenames", None)
        secrets_files = [self.root / name for name in filenames()] if callable(filenames) else []
        files = [Path(f) for f in config.config_files] + secrets_files
        return tuple(f.stat().st_mtime if f.exists() else -1.0 for f in files)

    def runner(self, settings: SshSettings) -> FleetRunner:
        """The runner (and its pool of connections) for these SSH settings, kept across commands."""
        with self._lock:
            runner = self._runners.get(settings)
            if runner is None:
                runner = self._runners[settings] = FleetRunner(settings, self.events, pool=self._pool(settings))
            return runner

    def _pool(self, settings: SshSettings) -> HostPool | None:
        return None if self.backend is None else self.backend(settings)

    def close(self) -> None:
        with self._lock:
            runners, self._runners = list(self._runners.values()), {}
        for runner in runners:
            runner.close()

    # -- who and when, as Kamal records them ---------------------------------------------------------

    @cached_property
    def performer(self) -> str:
        """`git config user.email`, else `whoami`: the name on audit lines."""
        return _git(self.root, "config", "user.email") or getpass.getuser()

    @cached_property
    def lock_holder(self) -> str:
        """`git config user.name`, else "Unknown": the name in lock details."""
        return _git(self.root, "config", "user.name") or "Unknown"

    def now(self) -> str:
        return self.clock().astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Once:
    """An action run at most once, however many callers and threads ask; a failure is raised again
    to every later caller (nothing may go on after a failed pre-connect hook)."""

    def __init__(self, action: Callable[[], object]) -> None:
        self._action: Callable[[], object] | None = action
        self._error: BaseException | None = None
        self._lock = threading.Lock()

    def __call__(self) -> None:
        with self._lock:
            action, self._action = self._action, None
            if action is not None:
                try:
                    action()
                except BaseException as error:
                    self._error = error
            if self._error is not None:
                raise self._error


@dataclass
class Context:
    """One command's view of the session: its options, config, selected hosts and runner."""

    session: Session
    options: GlobalOptions
    holding_lock: bool = False
    # run just before the command's first connection (Kamal's pre-connect hook); shared by `derived`
    before_connect: Once | None = None

    def derived(self, options: GlobalOptions) -> Context:
        """The same command seen with other options (another version, fewer hosts)."""
        return Context(self.session, options, holding_lock=self.holding_lock, before_connect=self.before_connect)

    @cached_property
    def config(self) -> Config:
        return self.session.load_config(self.options)

    @cached_property
    def selection(self) -> Selection:
        o = self.options
        return Selection.from_filters(self.config, hosts=o.hosts, roles=o.roles, primary=o.primary)

    @cached_property
    def runner(self) -> FleetRunner:
        if self.before_connect is not None:
            self.before_connect()
        session = self.session
        settings = ssh_settings(
            self.config,
            command_timeout=session.command_timeout,
            connect_timeout=session.connect_timeout,
            keepalive_interval=session.keepalive_interval,
            keepalive_count_max=session.keepalive_count_max,
        )
        if session.parallelism:
            settings = dataclasses.replace(settings, max_parallel=session.parallelism)
        return session.runner(settings)

    @property
    def version(self) -> str:
        return self.config.version

    def execute(self, plan: Plan, *, stop_on_failure: bool = True) -> GroupResult:
        """Run a plan's steps: each host's in order, hosts in parallel."""
        steps: dict[str, list[Step]] = {}
        for planned in plan.steps:
            steps.setdefault(planned.host, []).append(planned.step)
        return self.runner.run(steps, stop_on_failure=stop_on_failure)
