"""Following commands on many hosts at once: ``app|accessory|proxy logs -f``, and ``server|app exec``
of long-running commands, streamed.

    follow = start_follow(ctx, ("app", "logs"), {"follow": True})
    follow.subscribe(lambda line: print(line.host, line.line))
    follow.wait(30)            # until every stream ended, or 30 s
    result = follow.stop()     # the channels closed on the hosts; the last lines kept

Kamal follows logs on the primary host over ``ssh -t``; kamal_nb follows every selected host (``-h``,
``-r``, ``-p`` narrow it down), each stream with the same command Kamal runs inside its ``ssh -t``.
The lines of all hosts come to the subscribers as they arrive, labelled with their host; the last
``keep`` of them stay in the result (a DataFrame of host, time, line).
"""

from __future__ import annotations

import datetime
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kamal_nb.commands import App, Proxy, Registry
from kamal_nb.commands.accessory import Accessory
from kamal_nb.commands.command import Command
from kamal_nb.engine.errors import Refused
from kamal_nb.fleet.pool import HostUnreachable
from kamal_nb.fleet.stream import StreamedCommand
from kamal_nb.ops.audit import audit
from kamal_nb.ops.catalog import Args
from kamal_nb.ops.session import Context

# the paths that can stream, and what they stream
FOLLOWED_LOGS = {("app", "logs"), ("accessory", "logs"), ("proxy", "logs")}
STREAMED_EXECS = {("server", "exec"), ("app", "exec")}
DEFAULT_KEEP = 1000

_DOCKER_TIME = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d) (.*)$")


@dataclass(frozen=True, slots=True)
class StreamLine:
    """One line a followed command printed: its host (with the role when a host has several), when
    (docker's timestamp when the line has one, else when it arrived), and the text."""

    host: str
    time: datetime.datetime
    line: str


def split_timestamp(line: str, arrived: datetime.datetime) -> tuple[datetime.datetime, str]:
    """Docker's ``--timestamps`` prefix as the time (the rest as the line), else the arrival time."""
    match = _DOCKER_TIME.match(line)
    if match is None:
        return arrived, line
    base, fraction, zone, rest = match.groups()
    micro = (fraction or ".0")[1:7].ljust(6, "0")
    zone = "+00:00" if zone == "Z" else zone
    try:
        return datetime.datetime.fromisoformat(f"{base}.{micro}{zone}"), rest
    except ValueError:
        return arrived, line


@dataclass
class FollowResult:
    """What a follow saw: the last lines (``.df``: host, time, line), how each stream ended, and why
    the follow stopped ("stop button", "interrupted", "time limit", "stopped", "ended")."""

    name: str
    lines: tuple[StreamLine, ...]
    streams: Mapping[str, str]  # label -> how its stream ended
    stopped_by: str
    duration: float
    dropped: int = 0  # lines seen but not kept (beyond `keep`)

    @property
    def ok(self) -> bool:
        return not any(state.startswith("unreachable") or state.startswith("lost") for state in self.streams.values())

    @property
    def df(self) -> Any:
        import pandas as pd

        return pd.DataFrame(
            {
                "host": [x.host for x in self.lines],
                "time": [x.time for x in self.lines],
                "line": [x.line for x in self.lines],
            }
        )

    def summary(self) -> str:
        kept = f"{len(self.lines)} line{'' if len(self.lines) == 1 else 's'} kept" + (
            f" ({self.dropped} older dropped)" if self.dropped else ""
        )
        return f"kamal {self.name}: followed {len(self.streams)} stream(s) for {self.duration:.1f}s, {self.stopped_by}; {kept}"

    def text(self, last: int = 20) -> str:
        rows = [self.summary()]
        rows += [f"  {label}: {state}" for label, state in self.streams.items()]
        rows += [f"{x.host} | {x.line}" for x in self.lines[-last:]]
        return "\n".join(rows)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        import html

        states = "".join(
            f"<tr><td>{html.escape(label)}</td><td>{html.escape(state)}</td></tr>"
            for label, state in self.streams.items()
        )
        lines = "\n".join(html.escape(f"{x.host} | {x.line}") for x in self.lines[-20:])
        body = (
            f"<p>{html.escape(self.summary())}</p><table><tr><th>stream</th><th>ended</th></tr>{states}</table>"
            f"<pre>{lines}</pre>"
        )
        return {"text/plain": self.text(), "text/html": body}


@dataclass
class _Stream:
    label: str
    host: str
    command: StreamedCommand
    state: str = "starting"


@dataclass
class Follow:
    """Streams on several hosts; started by ``start()``, ended by ``stop()`` (or by their own end)."""

    name: str
    ctx: Context
    commands: Mapping[str, tuple[str, str]]  # label -> (host, wire command)
    keep: int = DEFAULT_KEEP
    before: Sequence[tuple[str, Any]] = ()  # (host, step) run first, in one round trip per host (audit, login)
    _lines: deque[StreamLine] = field(init=False)
    _streams: dict[str, _Stream] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self._lines = deque(maxlen=max(1, self.keep))
        self._seen = 0
        self._subscribers: list[Callable[[StreamLine], None]] = []
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self.stopped_by: str | None = None
        self._result: FollowResult | None = None

    def subscribe(self, callback: Callable[[StreamLine], None]) -> None:
        """``callback(line)`` for the lines kept so far, then for every line from now on (from the
        streams' reader threads). The streams start before anyone can subscribe, and a short command
        may have printed everything by then: its lines are not lost to the view. The lock is held
        while the kept lines are replayed, so a line arriving meanwhile comes after them."""
        with self._lock:
            for line in self._lines:
                callback(line)
            self._subscribers.append(callback)

    @property
    def labels(self) -> list[str]:
        return list(self.commands)

    def start(self) -> Follow:
        if self.before:
            plan: dict[str, list[Any]] = {}
            for host, step in self.before:
                plan.setdefault(host, []).append(step)
            self.ctx.runner.run(plan)
        self._started = time.monotonic()
        pool = self.ctx.runner.pool
        for label, (host, wire) in self.commands.items():
            stream = _Stream(label, host, StreamedCommand(wire, self._receiver(label)))
            self._streams[label] = stream
            try:
                stream.command.start(pool.get(host), open_timeout=self.ctx.session.connect_timeout)
                stream.state = "streaming"
            except HostUnreachable as error:
                stream.state = f"unreachable: {error}"
                stream.command.ended.set()
            except Exception as error:  # a channel refused on a dying connection: that host only
                stream.state = f"lost: {error}"
                stream.command.ended.set()
                pool.discard(host)
        return self

    def _receiver(self, label: str) -> Callable[[str], None]:
        return lambda text: self._line(label, text)

    def _line(self, label: str, text: str) -> None:
        when, line = split_timestamp(text, datetime.datetime.now(datetime.UTC))
        entry = StreamLine(label, when, line)
        with self._lock:
            self._lines.append(entry)
            self._seen += 1
            subscribers = list(self._subscribers)
        for callback in subscribers:
            callback(entry)

    @property
    def running(self) -> bool:
        return any(not s.command.ended.is_set() for s in self._streams.values())

    def wait(
        self, timeout: float | None = None, *, tick: float = 0.1, between: Callable[[], None] | None = None
    ) -> bool:
        """Until every stream ended (True) or ``timeout`` seconds passed (False); ``between`` is
        called every ``tick`` seconds meanwhile (to redraw a view, to poll the notebook's buttons)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.running and self.stopped_by is None:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            if between is not None:
                between()
            time.sleep(tick)
        return True

    def request_stop(self, reason: str) -> None:
        """Ask for a stop (from a button's callback): the waiting loop ends, then ``stop`` runs."""
        if self.stopped_by is None:
            self.stopped_by = reason

    def stop(self, reason: str = "stopped") -> FollowResult:
        """Close every channel (the commands are hung up on the hosts); the result. Idempotent."""
        if self._result is not None:
            return self._result
        if self.stopped_by is None:
            self.stopped_by = "ended" if not self.running else reason
        for stream in self._streams.values():
            ended_alone = stream.command.ended.is_set()
            stream.command.stop()
            if stream.state == "streaming":
                if ended_alone and stream.command.error:
                    stream.state = f"lost: {stream.command.error}"
                elif ended_alone:
                    stream.state = f"ended (exit {stream.command.exit_code})"
                else:
                    stream.state = f"stopped ({self.stopped_by})"
        with self._lock:
            lines = tuple(self._lines)
            dropped = self._seen - len(lines)
        self._result = FollowResult(
            self.name,
            lines,
            {label: s.state for label, s in self._streams.items()},
            self.stopped_by,
            time.monotonic() - self._started,
            dropped,
        )
        return self._result

    def open_channels(self) -> list[str]:
        """The streams whose channel this side still holds open (none after ``stop``)."""
        return [label for label, s in self._streams.items() if s.command.channel_open]


def wait_and_stop(follow: Follow, limit: float | None, between: Callable[[], None] | None = None) -> FollowResult:
    """Wait until the streams end, a stop is requested, Ctrl-C or ``limit`` seconds; then stop them
    all (the channels closed on the hosts) and return the result. An interrupt ends the follow
    cleanly instead of propagating: the result says "interrupted"."""
    reason = "stopped"
    try:
        if not follow.wait(limit, between=between):
            reason = f"time limit ({limit:g}s)" if limit is not None else "stopped"
    except KeyboardInterrupt:
        reason = "interrupted"
    return follow.stop(follow.stopped_by or reason)


# -- which commands ------------------------------------------------------------------------------------


def streams(path: tuple[str, ...], args: Args) -> bool:
    """Whether this command line asks for streaming (``logs -f``, ``exec --stream``)."""
    if path in FOLLOWED_LOGS:
        return bool(args.get("follow"))
    return path in STREAMED_EXECS and bool(args.get("stream"))


def start_follow(ctx: Context, path: tuple[str, ...], args: Args, *, keep: int = DEFAULT_KEEP) -> Follow:
    """The follow for this command line, started. Bad input raises Refused before anything runs."""
    name = " ".join(path) + (" -f" if path in FOLLOWED_LOGS else " --stream")
    commands, before = _commands(ctx, path, args)
    if not commands:
        raise Refused(f"kamal {' '.join(path)}: no host selected to follow")
    return Follow(name, ctx, commands, keep=keep, before=before).start()


def _commands(
    ctx: Context, path: tuple[str, ...], args: Args
) -> tuple[dict[str, tuple[str, str]], list[tuple[str, Any]]]:
    timestamps = not args.get("skip_timestamps")
    grep, grep_options = _text(args, "grep"), _text(args, "grep_options")
    commands: dict[str, tuple[str, str]] = {}
    before: list[tuple[str, Any]] = []

    def add(host: str, label: str, command: Command | str) -> None:
        commands[label] = (host, command if isinstance(command, str) else command.wire())

    if path == ("app", "logs"):
        given = args.get("lines")
        lines = given if given not in (None, "") else (None if (_text(args, "since") or grep) else 10)
        for host in ctx.selection.app_hosts:
            roles = ctx.selection.roles_on(host)
            for role in roles:
                logs = App(ctx.config, role=role, host=host).followed_logs(
                    container_id=_text(args, "container_id"),
                    timestamps=timestamps,
                    lines=lines,
                    grep=grep,
                    grep_options=grep_options,
                )
                add(host, host if len(roles) == 1 else f"{host}/{role.name}", logs)
    elif path == ("accessory", "logs"):
        from kamal_nb.ops.accessory import accessories, hosts_of

        name = _text(args, "name") or ""
        (accessory,) = accessories(ctx.config, name, allow_all=False)
        logs = Accessory(ctx.config, name=name).followed_logs(
            timestamps=timestamps, grep=grep, grep_options=grep_options
        )
        for host in hosts_of(ctx, accessory):
            add(host, host, logs)
    elif path == ("proxy", "logs"):
        for host in ctx.selection.proxy_hosts:
            add(host, host, Proxy(ctx.config, host=host).followed_logs(timestamps=timestamps, grep=grep))
    elif path == ("server", "exec"):
        command = _command(args)
        for host in ctx.selection.hosts:
            before.append((host, audit(ctx, f"Executed cmd '{command}' on {host}")))
            add(host, host, command)
    elif path == ("app", "exec"):
        _app_exec(ctx, args, add, before)
    else:
        raise Refused(f"kamal {' '.join(path)} does not stream")
    return commands, before


def _app_exec(
    ctx: Context, args: Args, add: Callable[[str, str, Command | str], None], before: list[tuple[str, Any]]
) -> None:
    """``app exec --stream``: in the running containers with ``--reuse`` (at ``--version``, else the
    configured version), else in a new container of the version, as Kamal's ``app exec``."""
    if args.get("interactive"):
        raise Refused("app exec --stream: -i (an interactive terminal) cannot stream into a notebook; drop it")
    if args.get("detach"):
        raise Refused("app exec --stream: --detach leaves nothing to stream; drop one of them")
    command = _command(args)
    env = args.get("env") or {}
    reuse = bool(args.get("reuse"))
    version = ctx.options.version or (_running_version(ctx) if reuse else ctx.config.latest_tag)
    login = None if reuse else Registry(ctx.config).login()
    for host in ctx.selection.app_hosts:
        roles = ctx.selection.roles_on(host)
        if login is not None:
            before.append((host, login))
        for role in roles:
            app = App(ctx.config, role=role, host=host, version=version)
            before.append((host, audit(ctx, f"Executed cmd '{command}' on app version {version}", role=role.name)))
            if reuse:
                run = app.execute_in_existing_container(command, env=env)
            else:
                run = app.execute_in_new_container(command, env=env, exec_suffix=ctx.session.random_hex(3))
            add(host, host if len(roles) == 1 else f"{host}/{role.name}", run)


def _running_version(ctx: Context) -> str:
    """The version running on the primary host (Kamal's ``app exec --reuse`` without ``--version``)."""
    primary = ctx.selection.primary_host
    roles = ctx.selection.roles_on(primary) if primary is not None else ()
    if primary is None or not roles:
        return ctx.config.version
    probe = App(ctx.config, role=roles[0], host=primary).current_running_version()
    result = ctx.runner.run({primary: [probe]})[primary]
    found = result.commands[-1].stdout.strip() if result.commands else ""
    return found or ctx.config.version


def _command(args: Args) -> str:
    words = args.get("cmd") or ()
    command = words if isinstance(words, str) else " ".join(words)
    if not command.strip():
        raise Refused("No command provided. You must specify a command to execute.")
    return command


def _text(args: Args, key: str) -> str | None:
    value = args.get(key)
    return None if value in (None, "") else str(value)
