"""The answers to the fleet's read-only questions (`app version`, `app containers`, `app images`,
and the `docker ps` of `details`, `app details`, `proxy details`, `accessory details`) as typed
tables: one row per host and role, per container, or per image, parsed from the output Kamal's own
commands print on each host (the commands are not changed; `docker ps` / `docker image ls` keep
their default table format, so a host's raw output stays the same as Kamal's and stays reachable
with `result.output(host)`).

An `Answer` reads as one summary line, then the table; `.df` is the table as pandas (string columns,
a missing value is pandas' NA there, as data; the text and HTML show it as "—").
"""

from __future__ import annotations

import html
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kamal_nb.engine.html_style import FAILING, td, th

if TYPE_CHECKING:
    import pandas as pd

    from kamal_nb.fleet import GroupResult

MISSING = "—"


@dataclass(frozen=True)
class Answer:
    """A question's answer: `columns` of every row (the text and HTML show `shown`), `summary` in one line."""

    question: str
    columns: tuple[str, ...]
    rows: tuple[Mapping[str, str | None], ...]
    summary: str
    shown: tuple[str, ...] = ()

    @property
    def df(self) -> pd.DataFrame:
        """The rows as a DataFrame of ``string`` columns (NA where a host gave no value)."""
        import pandas as pd

        frame = pd.DataFrame([dict(row) for row in self.rows], columns=list(self.columns))
        return frame.astype(dict.fromkeys(self.columns, "string"))

    def cells(self) -> tuple[list[str], list[list[str]]]:
        names = list(self.shown or self.columns)
        return names, [[row.get(name) or MISSING for name in names] for row in self.rows]

    def table_text(self) -> list[str]:
        header, rows = self.cells()
        if not rows:
            return []
        widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
        return [
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
            for row in [header, *rows]
        ]

    def table_html(self) -> str:
        header, rows = self.cells()
        if not rows:
            return ""
        head = "".join(th(name) for name in header)
        status = header.index("status") if "status" in header else None
        body = "".join(
            (
                "<tr style='background-color: #f8d7da'>"
                if status is not None and row[status].startswith(FAILING)
                else "<tr>"
            )
            + "".join(td(cell) for cell in row)
            + "</tr>"
            for row in rows
        )
        return f"<table class='kamal-nb-answer'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    def __str__(self) -> str:
        return "\n".join([self.summary, *self.table_text()])

    def _repr_mimebundle_(
        self, include: Sequence[str] | None = None, exclude: Sequence[str] | None = None
    ) -> dict[str, Any]:
        return {
            "text/plain": str(self),
            "text/html": f"<p><b>{html.escape(self.summary)}</b></p>{self.table_html()}",
        }


_NAMES = {"names": "name"}  # docker's NAMES column holds one name for a container of Kamal's


def parse_docker_table(output: str) -> list[dict[str, str]]:
    """Rows of docker's default table format (`docker ps`, `docker image ls`): columns begin where the
    header's names do (names are apart by two spaces or more; `CONTAINER ID` is one name), keys are the
    names in snake case (`container_id`; `NAMES` is `name`). Output of several commands (`details`:
    the proxy's, then each role's) has a header each: every one starts a table of its own widths."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return []
    names = _header_names(lines[0])
    rows = []
    starts: list[tuple[int, str]] = []
    for line in lines:
        if _header_names(line) == names:
            starts = [(m.start(), _snake(m.group())) for m in _NAME.finditer(line)]
            continue
        row = {}
        for index, (start, name) in enumerate(starts):
            end = starts[index + 1][0] if index + 1 < len(starts) else None
            row[name] = line[start:end].strip()
        rows.append(row)
    return rows


_NAME = re.compile(r"\S+(?: \S+)*")


def _header_names(line: str) -> list[str]:
    return [m.group() for m in _NAME.finditer(line)]


def _snake(name: str) -> str:
    key = name.lower().replace(" ", "_")
    return _NAMES.get(key, key)


def _failure_rows(hosts: GroupResult, columns: Sequence[str]) -> list[dict[str, str | None]]:
    """A row for each host that gave no answer, saying why (the table stays one row a host at least)."""
    return [
        {"host": host, **dict.fromkeys(columns[1:]), "status": f"{result.status}: {result.failure or 'failed'}"}
        for host, result in hosts.failed.items()
    ]


def _with_status(columns: tuple[str, ...], hosts: GroupResult) -> tuple[str, ...]:
    return (*columns, "status") if hosts.failed else columns


def _plural(count: int, word: str) -> str:
    return f"{count or 'no'} {word}{'' if count == 1 else 's'}"


def versions(question: str, hosts: GroupResult, roles: Mapping[str, str]) -> Answer:
    """`app version`: each host's running version (of its first role, as Kamal asks), blank if none."""
    columns = _with_status(("host", "role", "version"), hosts)
    rows: list[dict[str, str | None]] = []
    for host, result in hosts.items():
        if result.ok:
            version = "".join(c.stdout for c in result.commands).strip()
            rows.append({"host": host, "role": roles.get(host), "version": version or None})
    rows += _failure_rows(hosts, columns)
    counted = Counter(row["version"] for row in rows if row["version"])
    answered = sum(1 for row in rows if "status" not in row)
    if not counted:
        summary = f"no version running on {_plural(answered, 'host')}"
    elif len(counted) == 1:
        ((version, count),) = counted.items()
        summary = f"{version} on {count} of {_plural(answered, 'host')}"
    else:
        listed = ", ".join(f"{version} on {count}" for version, count in counted.most_common())
        summary = f"{len(counted)} versions: {listed} of {_plural(answered, 'host')}"
    return Answer(question, columns, tuple(rows), summary if answered else "no host answered")


CONTAINER_COLUMNS = ("host", "container_id", "name", "image", "status", "created", "ports", "command")
IMAGE_COLUMNS = ("host", "repository", "tag", "image_id", "created", "size")


def containers(question: str, hosts: GroupResult) -> Answer:
    """`app containers`: every app container on each host: id, name, image, docker's status."""
    columns = (*CONTAINER_COLUMNS, *(("failure",) if hosts.failed else ()))
    rows: list[dict[str, str | None]] = []
    for host, result in hosts.items():
        if not result.ok:
            rows.append({"host": host, "status": result.status, "failure": result.failure or "failed"})
            continue
        for parsed in parse_docker_table("".join(c.stdout for c in result.commands)):
            rows.append({"host": host, **{name: parsed.get(name) or None for name in CONTAINER_COLUMNS[1:]}})
    found = [row for row in rows if row.get("container_id")]
    running = sum(1 for row in found if (row.get("status") or "").startswith("Up"))
    answered = len(hosts) - len(hosts.failed)
    summary = f"{_plural(len(found), 'container')} on {_plural(answered, 'host')}" + (
        f", {running} running" if found else ""
    )
    shown = ("host", "container_id", "name", "image", "status", *(("failure",) if hosts.failed else ()))
    return Answer(question, columns, tuple(rows), summary if answered else "no host answered", shown)


def images(question: str, hosts: GroupResult) -> Answer:
    """`app images`: the app's images on each host: repository, tag, id, created, size."""
    columns = (*IMAGE_COLUMNS, *(("status",) if hosts.failed else ()))
    rows: list[dict[str, str | None]] = []
    for host, result in hosts.items():
        if not result.ok:
            rows.append({"host": host, "status": f"{result.status}: {result.failure or 'failed'}"})
            continue
        for parsed in parse_docker_table("".join(c.stdout for c in result.commands)):
            rows.append({"host": host, **{name: parsed.get(name) or None for name in IMAGE_COLUMNS[1:]}})
    found = [row for row in rows if row.get("image_id")]
    tags = sorted({tag for row in found if (tag := row.get("tag")) and tag != "<none>"})
    answered = len(hosts) - len(hosts.failed)
    summary = f"{_plural(len(found), 'image')} on {_plural(answered, 'host')}" + (
        f", tags {', '.join(tags)}" if tags else ""
    )
    return Answer(question, columns, tuple(rows), summary if answered else "no host answered")
