"""``watch [state|details] [--every SECONDS]`` (kamal_nb): the fleet's state gathered again and again
(one round trip per host per tick), each snapshot compared with the one before.

    watcher = Watcher(ctx, "state")
    snapshot = watcher.tick()        # rows, and the cells that changed since the last tick
    snapshot.changed                 # {(host, role): {"version", ...}}

``state`` watches the releases (host and role: version, container state, health); ``details`` every
container of the deployment (app, accessories, kamal-proxy).
"""

from __future__ import annotations

import datetime
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kamal_nb.engine.errors import Refused
from kamal_nb.ops.session import Context
from kamal_nb.state.fleet_state import gather

# what each kind of watch shows: the key columns of a row, then the watched ones
VIEWS: Mapping[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "state": ("releases", ("host", "role"), ("version", "state", "health", "stale", "status")),
    "details": ("containers", ("host", "name"), ("kind", "version", "state", "health", "status")),
}

Key = tuple[str, ...]


@dataclass(frozen=True)
class Snapshot:
    """One tick: the rows (key columns, then the watched ones, as text), what changed since the
    tick before (key -> changed columns; new rows have every column), and what went away."""

    kind: str
    number: int
    at: datetime.datetime
    duration: float
    columns: tuple[str, ...]
    rows: Mapping[Key, Mapping[str, str]]
    changed: Mapping[Key, frozenset[str]] = field(default_factory=dict)
    gone: tuple[Key, ...] = ()
    unreachable: tuple[str, ...] = ()

    change_lines: tuple[str, ...] = ()  # the changes as lines: ``10.0.0.1 web: version v1 → v2``


@dataclass
class WatchResult:
    """What a watch saw: every tick's changes, in order, and the last snapshot."""

    kind: str
    ticks: int
    stopped_by: str
    history: list[tuple[datetime.datetime, str]]  # (when, change line)
    last: Snapshot | None

    @property
    def df(self) -> Any:
        import pandas as pd

        return pd.DataFrame({"time": [t for t, _ in self.history], "change": [c for _, c in self.history]})

    def summary(self) -> str:
        return f"kamal watch {self.kind}: {self.ticks} ticks, {len(self.history)} changes, {self.stopped_by}"

    def text(self) -> str:
        lines = [self.summary(), *(f"{t:%H:%M:%S} {c}" for t, c in self.history[-50:])]
        if self.last is not None:
            lines.append(render_text(self.last))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()

    def __repr__(self) -> str:
        return self.text()

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        import html

        changes = "\n".join(html.escape(f"{t:%H:%M:%S} {c}") for t, c in self.history[-50:])
        table = render_html(self.last) if self.last is not None else ""
        body = f"<p>{html.escape(self.summary())}</p><pre>{changes}</pre>{table}"
        return {"text/plain": self.text(), "text/html": body}


class Watcher:
    def __init__(self, ctx: Context, kind: str = "state") -> None:
        if kind not in VIEWS:
            raise Refused(f"watch: {kind!r} is not something to watch (state or details)")
        self.ctx = ctx
        self.kind = kind
        self.previous: Snapshot | None = None
        self.history: list[tuple[datetime.datetime, str]] = []
        self.ticks = 0

    def tick(self) -> Snapshot:
        table_name, keys, watched = VIEWS[self.kind]
        started = time.monotonic()
        state = gather(self.ctx)
        table = getattr(state, table_name)
        rows: dict[Key, dict[str, str]] = {}
        for row in table.rows:
            key = tuple(_text(row.get(k)) for k in keys)
            rows[key] = {c: _text(row.get(c)) for c in watched}
        unreachable = tuple(s.host for s in state.snapshots if not s.reachable)
        self.ticks += 1
        snapshot = self._compare(rows, keys, watched, time.monotonic() - started, unreachable)
        self.previous = snapshot
        return snapshot

    def _compare(
        self,
        rows: dict[Key, dict[str, str]],
        keys: Sequence[str],
        watched: Sequence[str],
        duration: float,
        unreachable: tuple[str, ...],
    ) -> Snapshot:
        before = self.previous.rows if self.previous is not None else None
        changed: dict[Key, frozenset[str]] = {}
        lines: list[str] = []
        gone: tuple[Key, ...] = ()
        if before is not None:
            for key, row in rows.items():
                old = before.get(key)
                if old is None:
                    changed[key] = frozenset(watched)
                    lines.append(f"{' '.join(key)}: appeared ({row.get('version') or '-'}, {row.get('state') or '-'})")
                    continue
                diff = frozenset(c for c in watched if old.get(c) != row.get(c))
                if diff:
                    changed[key] = diff
                    lines += [
                        f"{' '.join(key)}: {c} {old.get(c) or '-'} → {row.get(c) or '-'}" for c in watched if c in diff
                    ]
            gone = tuple(k for k in before if k not in rows)
            lines += [f"{' '.join(k)}: gone" for k in gone]
        now = self.ctx.session.clock()
        self.history += [(now, line) for line in lines]
        return Snapshot(
            self.kind, self.ticks, now, duration, (*keys, *watched), rows, changed, gone, unreachable, tuple(lines)
        )

    def result(self, stopped_by: str) -> WatchResult:
        return WatchResult(self.kind, self.ticks, stopped_by, list(self.history), self.previous)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, (tuple, list)):
        return ", ".join(str(v) for v in value)
    text = str(value)
    return "" if text in ("nan", "<NA>", "None") else text


def render_text(snapshot: Snapshot) -> str:
    """The snapshot as a plain table, a ``*`` after each changed cell."""
    header = list(snapshot.columns)
    body = []
    nkeys = len(next(iter(snapshot.rows), ()))
    for key, row in snapshot.rows.items():
        changed = snapshot.changed.get(key, frozenset())
        cells = [*key, *((row[c] + ("*" if c in changed else "")) for c in snapshot.columns[nkeys:])]
        body.append(cells)
    widths = [max(len(str(x)) for x in column) for column in zip(header, *body, strict=False)] if body else []
    lines = ["  ".join(str(x).ljust(w) for x, w in zip(cells, widths, strict=False)) for cells in [header, *body]]
    note = f"tick {snapshot.number} at {snapshot.at:%H:%M:%S} ({snapshot.duration:.2f}s)"
    if snapshot.unreachable:
        note += f"; unreachable: {', '.join(snapshot.unreachable)}"
    return "\n".join([note, *lines])


def render_html(snapshot: Snapshot) -> str:
    """The snapshot as an HTML table; changed cells highlighted (and marked ``*`` for text readers)."""
    import html

    head = "".join(f"<th>{html.escape(c)}</th>" for c in snapshot.columns)
    body = []
    nkeys = len(next(iter(snapshot.rows), ()))
    for key, row in snapshot.rows.items():
        changed = snapshot.changed.get(key, frozenset())
        cells = [f"<td>{html.escape(k)}</td>" for k in key]
        for column in snapshot.columns[nkeys:]:
            value = html.escape(row[column])
            if column in changed:
                cells.append(f'<td style="background:#fff3b0;font-weight:bold" title="changed">{value} *</td>')
            else:
                cells.append(f"<td>{value}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    note = f"tick {snapshot.number} at {snapshot.at:%H:%M:%S} ({snapshot.duration:.2f}s)"
    if snapshot.unreachable:
        note += f"; unreachable: {', '.join(snapshot.unreachable)}"
    return f"<p>{html.escape(note)}</p><table><tr>{head}</tr>{''.join(body)}</table>"
