"""How an operation's result reads in a notebook: the verdict first, then what it found out (a lock,
Kamal's own lines), a host table, then each host's output (collapsed when the operation changed
hosts: its output is a log; open when the output is the answer, as for `details` or `logs`).

The same text goes into text/plain and text/html, so a saved notebook, its HTML export, GitHub and
a terminal read alike; a missing value is blank, never `NaN` or `<NA>`.
"""

from __future__ import annotations

import html
import re
from typing import Any

from kamal_nb.engine.answers import Answer
from kamal_nb.engine.html_style import FAILING, td, th

# an engine.result.OperationResult (not imported: that module imports this one)
OperationResult = Any

# a host's output of at most this many lines goes into the table; longer output gets its own block
ONE_LINE = 1


BOOTS = ("deploy", "redeploy", "rollback")
_STARTING = re.compile(r"Start container with version (\S+) on ")


def lost_note(hosts: Any) -> str:
    """` (2 lost)` when failed hosts went silent (the SSH liveness rule gave them up), else ``."""
    lost = len(hosts.lost)
    return f" ({lost} lost)" if lost else ""


def verdict(result: OperationResult) -> str:
    """One line: what happened on the fleet (for a deploy: what booted where), and how long it took."""
    hosts = result.hosts
    failed = len(hosts.failed)
    count = f"{len(hosts)} host" + ("s" if len(hosts) != 1 else "")
    status = f"FAILED on {failed} of {count}{lost_note(hosts)}" if failed else f"ok on {count}"
    status = boot_outcome(result) or status
    if isinstance(result.data, Answer):  # a question: its answer in one line (and the failure, if any)
        status = f"{status}; {result.data.summary}" if failed else result.data.summary
    return f"kamal {result.operation}: {status} ({result.duration:.2f}s)"


def boot_outcome(result: OperationResult) -> str | None:
    """What a deploy, redeploy or rollback did: booted everywhere, on N of M, nothing (and why);
    None for other operations."""
    if result.operation not in BOOTS:
        return None
    hosts = result.hosts
    if result.ok and result.data is False and result.operation == "rollback":
        return "nothing changed: the version is not available as a container on any host"
    booted = [
        host
        for host, host_result in hosts.items()
        if any(c.ok and c.command.startswith("docker run ") and " --detach " in c.command for c in host_result.commands)
    ]
    started = next((m for line in result.messages if (m := _STARTING.search(line))), None)
    version = started.group(1) if started else "the new version"
    if result.ok:
        return f"{version} booted on {len(booted)} of {len(hosts)} hosts" if booted else None
    first = next(iter(hosts.failed.items()), None)
    why = f"{first[0]}: {first[1].failure}" if first else "a check stopped it"
    if not booted:
        return f"FAILED{lost_note(hosts)}: nothing booted, because {why}"
    return f"FAILED{lost_note(hosts)}: {version} booted on {len(booted)} of {len(hosts)} hosts; {why}"


def lock_line(data: object) -> str | None:
    """A lock status (who holds the deploy lock) as one line, or None when `data` is none."""
    holder = getattr(data, "holder", None)
    if holder is None:
        return None
    at, version, message = (getattr(data, name, "") for name in ("locked_at", "version", "message"))
    parts = [f"Locked by {holder}" + (f" at {at}" if at else "")]
    if version:
        parts.append(f"version {version}")
    if message:
        parts.append(f"message: {' '.join(str(message).split())}")
    return " · ".join(parts)


def findings(result: OperationResult) -> list[str]:
    """What the operation found out or said, after the verdict: the lock, Kamal's own lines."""
    lines: list[str] = []
    lock = lock_line(result.data)
    for message in result.messages:
        if lock is not None and message.startswith("Locked by: "):
            continue  # the lock's details file, said once below in one line
        lines += [line for line in message.splitlines() if line.strip()]
    if lock is not None:
        lines.append(lock)
    return lines


def _outputs(result: OperationResult) -> dict[str, list[str]]:
    if lock_line(result.data) is not None:
        return {host: [] for host in result.hosts}  # the lock's details file: said in one line above
    return {host: result.output(host).rstrip("\n").splitlines() for host in result.hosts}


def _rows(result: OperationResult, short: bool) -> tuple[list[str], list[list[str]]]:
    """The host table: host, status, the one-line answer (when every host's is one line), commands,
    duration, and why a host failed (only when one did)."""
    boots = _boot_rows(result)
    if boots is not None:
        return boots
    outputs = _outputs(result)
    any_failed = bool(result.hosts.failed)
    header = [
        "host",
        "status",
        *(["output"] if short else []),
        "commands",
        "duration",
        *(["failure"] if any_failed else []),
    ]
    rows = []
    for host, host_result in result.hosts.items():
        row = [host, host_result.status]
        if short:
            row.append(outputs[host][0] if outputs[host] else "")
        row += [str(len(host_result.commands)), f"{host_result.duration:.2f}s"]
        if any_failed:
            row.append(host_result.failure or "")
        rows.append(row)
    return header, rows


_RUN = re.compile(r'^docker run .*--detach .*--env KAMAL_VERSION="([^"]+)".*--label role="([^"]+)"')
_CURRENT = "sh -c 'docker ps --latest"
_PROXY_DEPLOY = "docker exec kamal-proxy kamal-proxy deploy "


def _boot_rows(result: OperationResult) -> tuple[list[str], list[list[str]]] | None:
    """For a deploy, redeploy or rollback that booted somewhere: host by role, version before → after,
    the new container, kamal-proxy's health check, status, duration (None otherwise)."""
    if result.operation not in BOOTS:
        return None
    rows: list[list[str]] = []
    for host, host_result in result.hosts.items():
        commands = list(host_result.commands)
        booted = False
        for index, command in enumerate(commands):
            run = _RUN.match(command.command)
            if run is None:
                continue
            booted = True
            version, role = run.groups()
            before = next(
                (
                    c.stdout.strip().splitlines()[0]
                    for c in commands[:index]
                    if c.command.startswith(_CURRENT) and f"label=role={role} " in c.command and c.stdout.strip()
                ),
                "",
            )
            proxy = next((c for c in commands[index + 1 :] if c.command.startswith(_PROXY_DEPLOY)), None)
            health = "" if proxy is None else ("healthy" if proxy.ok else "FAILED")
            container = command.stdout.strip()[:12] if command.ok else ""
            change = f"{before or '—'} → {version}" if command.ok else f"{before or '—'} (→ {version} FAILED)"
            status = host_result.status
            rows.append([host, role, change, container, health, status, f"{host_result.duration:.2f}s"])
        if not booted:
            status = host_result.status
            rows.append([host, "", "— (nothing booted)", "", "", status, f"{host_result.duration:.2f}s"])
    if not any(row[3] for row in rows):
        return None
    return ["host", "role", "version", "container", "kamal-proxy", "status", "duration"], rows


def _short_answers(result: OperationResult) -> bool:
    """Whether every host answered in one line at most (a version, a container id): a table column."""
    if result.changes or lock_line(result.data) is not None:
        return False  # a log (not an answer), or the lock's details file said in one line already
    outputs = _outputs(result)
    return any(outputs.values()) and all(len(lines) <= ONE_LINE for lines in outputs.values())


def _raw_count(output: list[str]) -> str:
    return f"{len(output)} line{'s' if len(output) != 1 else ''} of output"


def _answer_text(result: OperationResult, answer: Answer) -> str:
    """A question's answer: the verdict, its table, then where each host's own output is."""
    table = answer.table_text()
    lines = [verdict(result), *(["", *table] if table else [])]
    raw = [host for host, output in _outputs(result).items() if output]
    if raw:
        lines += ["", f"each host's output as Kamal prints it: result.output({raw[0]!r})"]
    return "\n".join(lines)


def _answer_html(result: OperationResult, answer: Answer) -> str:
    parts = [f"<p><b>{html.escape(verdict(result))}</b></p>", answer.table_html()]
    for host, output in _outputs(result).items():
        if output:
            summary = html.escape(f"{host}: {_raw_count(output)} (as Kamal prints it)")
            parts.append(
                f"<details><summary>{summary}</summary><pre>{html.escape(chr(10).join(output))}</pre></details>"
            )
    return "\n".join(part for part in parts if part)


def text(result: OperationResult) -> str:
    if isinstance(result.data, Answer):
        return _answer_text(result, result.data)
    short = _short_answers(result)
    header, rows = _rows(result, short)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    table = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in [header, *rows]
    ]
    lines = [verdict(result), *findings(result), "", *table]
    if not short:
        for host, output in _outputs(result).items():
            if not output:
                continue
            if result.changes:
                count = f"{len(output)} line{'s' if len(output) != 1 else ''}"
                lines += ["", f"{host}: {count} of output (result.output({host!r}))"]
            else:
                lines += ["", f"Host: {host}", *output]
    return "\n".join(lines)


def to_html(result: OperationResult) -> str:
    if isinstance(result.data, Answer):
        return _answer_html(result, result.data)
    short = _short_answers(result)
    header, rows = _rows(result, short)
    status_column = header.index("status")
    parts = [f"<p><b>{html.escape(verdict(result))}</b></p>"]
    said = findings(result)
    if said:  # Kamal's INFO lines (and the lock): lines of a log, monospace, not prose
        parts.append("<pre class='kamal-nb-said'>" + "\n".join(html.escape(line) for line in said) + "</pre>")
    head = "".join(th(name) for name in header)
    body = "".join(
        ("<tr style='background-color: #f8d7da'>" if row[status_column] in FAILING else "<tr>")
        + "".join(td(cell) for cell in row)
        + "</tr>"
        for row in rows
    )
    parts.append(f"<table class='kamal-nb-result'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    if not short:
        opened = "" if result.changes else " open"
        for host, output in _outputs(result).items():
            if output:
                summary = html.escape(f"{host}: {len(output)} line{'s' if len(output) != 1 else ''} of output")
                body_text = html.escape("\n".join(output))
                parts.append(f"<details{opened}><summary>{summary}</summary><pre>{body_text}</pre></details>")
    return "\n".join(parts)
