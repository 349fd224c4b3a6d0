"""Parse the probe's raw output into plain values: containers, images, the lock, audit lines.

Parsers are forgiving: a line they cannot read is skipped (containers, images) or kept unparsed
(audit), and a section that failed on the host becomes a problem noted on the host's snapshot.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import re
from collections.abc import Mapping
from typing import Any

from kamal_nb.redaction import redact
from kamal_nb.state.model import AuditEntry, Container, HostSnapshot, Image, Lock
from kamal_nb.state.probe import SECTIONS, ProbeOutput

_FRACTION = re.compile(r"\.(\d+)")
_DOCKER_ZERO_TIME = "0001-01-01T00:00:00Z"


def parse_time(text: str | None) -> datetime.datetime | None:
    """Docker's and Kamal's times as aware UTC datetimes; None for empty or Go's zero time.

    Accepts RFC 3339 with nanoseconds (``2026-11-26T20:56:21.194342388Z``, inspect), ``2026-11-26
    20:56:09 +0000 UTC`` (image ls) and ``2026-11-26T20:56:13Z`` (audit, lock details).
    """
    if not text or text.startswith("0001-01-01"):
        return None
    value = text.strip().removesuffix(" UTC")
    value = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), value, count=1)  # ns → µs
    value = value.replace("Z", "+00:00")
    try:
        moment = datetime.datetime.fromisoformat(value)
    except ValueError:
        try:
            moment = datetime.datetime.strptime(value, "%Y-%m-%d %H:%M:%S %z")
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.astimezone(datetime.UTC)


def _json_lines(text: str) -> list[dict[str, Any]]:
    items = []
    for line in text.splitlines():
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict):
            items.append(item)
    return items


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_containers(text: str) -> tuple[Container, ...]:
    """``docker container inspect --format INSPECT_FORMAT`` lines; one container per id."""
    seen: dict[str, Container] = {}
    for item in _json_lines(text):
        state: Mapping[str, Any] = item.get("state") or {}
        health = state.get("Health")
        labels = item.get("labels") or {}
        container = Container(
            id=str(item.get("id") or ""),
            name=str(item.get("name") or "").removeprefix("/"),
            image=str(item.get("image") or ""),
            image_id=str(item.get("image_id") or ""),
            labels={str(k): redact(str(v)) for k, v in labels.items()} if isinstance(labels, dict) else {},
            created=parse_time(item.get("created")),
            state=str(state.get("Status") or "unknown"),
            exit_code=_int(state.get("ExitCode")),
            started_at=parse_time(state.get("StartedAt")),
            finished_at=parse_time(state.get("FinishedAt")),
            health=str(health.get("Status")) if isinstance(health, dict) and health.get("Status") else None,
            restart_count=_int(item.get("restart_count")),
            error=redact(str(state.get("Error") or "")),
        )
        if container.id and container.id not in seen:
            seen[container.id] = container
    return tuple(seen.values())


def parse_images(text: str) -> tuple[Image, ...]:
    """``docker image ls --no-trunc --format '{{json .}}'`` lines."""
    return tuple(
        Image(
            id=str(item.get("ID") or ""),
            repository=str(item.get("Repository") or ""),
            tag=str(item.get("Tag") or "<none>"),
            created=parse_time(item.get("CreatedAt")),
            size=str(item.get("Size") or ""),
        )
        for item in _json_lines(text)
    )


_LOCKED_BY = re.compile(r"^Locked by: (?P<who>.*) at (?P<at>\S+)$")


def parse_lock(text: str) -> Lock | None:
    """The lock section: nothing (no lock), or ``lock <mtime>`` and the base64 details file."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("lock"):
        return None
    stamp = lines[0].removeprefix("lock").strip()
    directory_time = datetime.datetime.fromtimestamp(int(stamp), datetime.UTC) if stamp.isdigit() else None
    encoded = "".join(line.strip() for line in lines[1:])
    details = decode_lock_details(encoded) if encoded else None
    if details is None:
        return Lock(directory_time, None)
    return Lock(directory_time, details, **_lock_fields(details))


def decode_lock_details(encoded: str) -> str | None:
    """Kamal's ``Base64.encode64`` text (60-character lines) decoded; None when it is not base64."""
    try:
        raw = base64.b64decode(encoded, validate=True)
        return redact(raw.decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError):
        return None


def _lock_fields(details: str) -> dict[str, Any]:
    """``Locked by: NAME at TIME`` / ``Version: V`` / ``Message: M`` (the message may run on)."""
    fields: dict[str, Any] = {}
    first, _, rest = details.partition("\n")
    match = _LOCKED_BY.match(first)
    if match is None:
        return fields
    fields["locked_by"] = match["who"]
    fields["locked_at"] = parse_time(match["at"])
    version, _, message = rest.partition("\n")
    if version.startswith("Version: "):
        fields["version"] = version.removeprefix("Version: ")
    elif version.startswith("Version:"):
        fields["version"] = version.removeprefix("Version:").strip()
    if message.startswith("Message:"):
        fields["message"] = message.removeprefix("Message:").removeprefix(" ")
    return fields


_AUDIT = re.compile(r"^\[(?P<at>[^\]]*)\] \[(?P<who>[^\]]*)\](?P<tags>(?: \[[^\]]*\])*) (?P<message>.*)$")


def parse_audit_line(line: str) -> AuditEntry:
    """``[time] [performer] [destination] [role] message`` (nil tags are left out by Kamal)."""
    match = _AUDIT.match(line)
    if match is None:
        return AuditEntry(line)
    return AuditEntry(
        line=line,
        recorded_at=parse_time(match["at"]),
        performer=match["who"],
        tags=tuple(re.findall(r"\[([^\]]*)\]", match["tags"])),
        message=match["message"],
    )


def parse_audit(text: str) -> tuple[AuditEntry, ...]:
    return tuple(parse_audit_line(redact(line)) for line in text.splitlines() if line.strip())


def snapshot(output: ProbeOutput) -> HostSnapshot:
    """One host's snapshot from its probe output."""
    if output.error is not None and not output.sections:
        return HostSnapshot(output.host, error=output.error)
    problems: list[str] = []
    for name in SECTIONS:
        section = output.sections.get(name)
        if section is None:
            problems.append(f"{name}: not run")
        elif not section.ok:
            detail = (section.stderr.strip() or section.stdout.strip()).splitlines()
            problems.append(f"{name}: exited {section.exit_code}" + (f": {detail[-1]}" if detail else ""))

    def text(name: str) -> str:
        # what a failed section printed is still read: `docker inspect` prints every container it
        # found even when one vanished between `ls` and `inspect`
        section = output.sections.get(name)
        return section.stdout if section is not None else ""

    docker = output.sections.get("docker")
    version = docker.stdout.strip().splitlines() if docker is not None and docker.ok else []
    return HostSnapshot(
        host=output.host,
        error=output.error,
        docker_version=version[-1] if version else None,
        containers=parse_containers(text("containers")),
        images=parse_images(text("images")),
        lock=parse_lock(text("lock")),
        audit=parse_audit(text("audit")),
        problems=tuple(problems),
    )
