"""How docker shows containers and images: inspect objects, `ps`/`image ls` rows, times and sizes.

Records are the plain JSON dicts kept in a host's docker.json; this module turns them into the shapes
docker's client formats (Go structs and maps, see ``gotemplate``), with docker's own wording.
"""

from __future__ import annotations

import datetime
import json
import time
from collections.abc import Mapping, Sequence
from typing import Any

from kamal_nb.sandbox.gotemplate import GoMap, Struct

ZERO_TIME = "0001-01-01T00:00:00Z"


def now_ns() -> int:
    return time.time_ns()


def rfc3339nano(ns: int | None) -> str:
    """Go's time.RFC3339Nano in UTC: trailing zeros of the fraction dropped."""
    if not ns:
        return ZERO_TIME
    seconds, fraction = divmod(ns, 1_000_000_000)
    base = datetime.datetime.fromtimestamp(seconds, datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    digits = f"{fraction:09d}".rstrip("0")
    return f"{base}.{digits}Z" if digits else f"{base}Z"


def go_time(ns: int) -> str:
    """Go's time.Time.String() of a whole-second Unix time in UTC: `2026-01-02 10:00:00 +0000 UTC`."""
    return datetime.datetime.fromtimestamp(ns // 1_000_000_000, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def human_duration(seconds: float) -> str:
    """go-units HumanDuration, as docker prints "2 minutes" and "About an hour"."""
    if seconds < 1:
        return "Less than a second"
    if int(seconds) == 1:
        return "1 second"
    if seconds < 60:
        return f"{int(seconds)} seconds"
    minutes = int(seconds / 60)
    if minutes == 1:
        return "About a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = int(seconds / 3600 + 0.5)
    if hours == 1:
        return "About an hour"
    if hours < 48:
        return f"{hours} hours"
    if hours < 24 * 7 * 2:
        return f"{hours // 24} days"
    if hours < 24 * 30 * 2:
        return f"{hours // 24 // 7} weeks"
    if hours < 24 * 365 * 2:
        return f"{hours // 24 // 30} months"
    return f"{int(hours / 24 / 365)} years"


def human_size(size: int) -> str:
    """go-units HumanSizeWithPrecision(size, 3): decimal units, as `docker image ls` shows sizes."""
    units = ["B", "kB", "MB", "GB", "TB", "PB"]
    value = float(size)
    unit = 0
    while value >= 1000 and unit < len(units) - 1:
        value /= 1000
        unit += 1
    return f"{value:.3g}{units[unit]}"


def ago(ns: int, now: int) -> str:
    return human_duration(max(0.0, (now - ns) / 1e9))


def short_id(full: str) -> str:
    return full.removeprefix("sha256:")[:12]


def split_reference(ref: str) -> tuple[str, str]:
    """`registry:5000/name:tag` -> (`registry:5000/name`, `tag`); the tag defaults to latest."""
    name, _, tag = ref.rpartition(":")
    if not name or "/" in tag:
        return ref, "latest"
    return name, tag


def normalize_reference(ref: str) -> str:
    name, tag = split_reference(ref)
    return f"{name}:{tag}"


# -- containers ----------------------------------------------------------------------------------------


def command_text(record: Mapping[str, Any]) -> str:
    return " ".join([*record.get("entrypoint", []), *record.get("cmd", [])])


def status_text(record: Mapping[str, Any], now: int) -> str:
    """`docker ps`'s STATUS column."""
    status = record["status"]
    if status == "running":
        health = record.get("health")
        return f"Up {ago(record['started_at'], now)}" + (f" ({health})" if health else "")
    if status == "created":
        return "Created"
    if status == "exited":
        return f"Exited ({record.get('exit_code', 0)}) {ago(record.get('finished_at') or now, now)} ago"
    if status == "restarting":
        return f"Restarting ({record.get('exit_code', 0)}) {ago(record.get('finished_at') or now, now)} ago"
    return str(status).capitalize()


def ports_text(record: Mapping[str, Any]) -> str:
    """`docker ps`'s PORTS column: published bindings, else exposed ports (running containers only)."""
    if record["status"] != "running":
        return ""
    published: list[str] = []
    bound: set[str] = set()
    for spec in record.get("publish", []):
        parts = spec.rsplit(":", 2) if not spec.startswith("[") else _split_v6(spec)
        container_port = parts[-1] if "/" in parts[-1] else parts[-1] + "/tcp"
        bound.add(container_port)
        if len(parts) == 3:
            published.append(f"{parts[0]}:{parts[1]}->{container_port}")
        elif len(parts) == 2:
            published += [f"0.0.0.0:{parts[0]}->{container_port}", f"[::]:{parts[0]}->{container_port}"]
        else:
            published.append(container_port)
    exposed = [p for p in record.get("exposed", []) if p not in bound]
    return ", ".join([*published, *sorted(exposed)])


def _split_v6(spec: str) -> list[str]:
    address, _, rest = spec.partition("]:")
    host_port, _, container_port = rest.partition(":")
    return [address + "]", host_port, container_port]


def image_shown(record: Mapping[str, Any], images: Mapping[str, Mapping[str, Any]]) -> str:
    """`docker ps`'s IMAGE: the name it was run from while that name still means the same image."""
    ref = record["image_ref"]
    image = images.get(record["image_id"])
    if image is not None and normalize_reference(ref) in image.get("tags", []):
        return str(ref)
    return short_id(record["image_id"])


def labels_text(labels: Mapping[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()))


def ps_row(record: Mapping[str, Any], images: Mapping[str, Mapping[str, Any]], now: int, trunc: bool) -> Struct:
    """The context `docker ps --format` templates see (and `{{json .}}` prints)."""
    command = command_text(record)
    if trunc and len(command) > 20:
        command = command[:19] + "…"
    return Struct(
        "*formatter.ContainerContext",
        {
            "Command": json.dumps(command, ensure_ascii=False),
            "CreatedAt": go_time(record["created"]),
            "ID": short_id(record["id"]) if trunc else record["id"],
            "Image": image_shown(record, images),
            "Labels": labels_text(record.get("labels", {})),
            "LocalVolumes": str(sum(1 for v in record.get("volumes", []) if not v.startswith(("/", "$")))),
            "Mounts": ",".join(v.split(":")[0] for v in record.get("volumes", [])),
            "Names": record["name"],
            "Networks": record.get("network", ""),
            "Ports": ports_text(record),
            "RunningFor": f"{ago(record['created'], now)} ago",
            "Size": "0B",
            "State": record["status"],
            "Status": status_text(record, now),
        },
    )


def state_struct(record: Mapping[str, Any]) -> Struct:
    status = record["status"]
    health = record.get("health")
    return Struct(
        "*container.State",
        {
            "Status": status,
            "Running": status in ("running", "restarting"),
            "Paused": False,
            "Restarting": status == "restarting",
            "OOMKilled": False,
            "Dead": status == "dead",
            "Pid": record.get("pid", 0) if status == "running" else 0,
            "ExitCode": record.get("exit_code", 0),
            "Error": "",
            "StartedAt": rfc3339nano(record.get("started_at")),
            "FinishedAt": rfc3339nano(record.get("finished_at")),
            "Health": Struct("*container.Health", {"Status": health, "FailingStreak": 0, "Log": []})
            if health
            else None,
        },
        omit_empty=("Health",),
    )


def container_inspect(record: Mapping[str, Any]) -> Struct:
    """`docker container inspect`'s object (the fields kamal_nb and Kamal read, and their neighbours)."""
    restart, _, retries = str(record.get("restart") or "no").partition(":")
    network = record.get("network") or "bridge"
    return Struct(
        "*types.ContainerJSON",
        {
            "Id": record["id"],
            "Created": rfc3339nano(record["created"]),
            "Path": (record.get("entrypoint") or record.get("cmd") or [""])[0],
            "Args": [
                *(record.get("entrypoint") or record.get("cmd") or [""])[1:],
                *(record.get("cmd", []) if record.get("entrypoint") else []),
            ],
            "State": state_struct(record),
            "Image": record["image_id"],
            "Name": "/" + record["name"],
            "RestartCount": record.get("restart_count", 0),
            "Driver": "overlay2",
            "Platform": "linux",
            "HostConfig": Struct(
                "*container.HostConfig",
                {
                    "Binds": [v for v in record.get("volumes", [])] or None,
                    "LogConfig": Struct(
                        "container.LogConfig",
                        {"Type": record.get("log_driver") or "json-file", "Config": GoMap(record.get("log_opts", {}))},
                    ),
                    "NetworkMode": network,
                    "RestartPolicy": Struct(
                        "container.RestartPolicy", {"Name": restart, "MaximumRetryCount": int(retries or 0)}
                    ),
                    "AutoRemove": bool(record.get("auto_remove")),
                },
            ),
            "Mounts": [],
            "Config": Struct(
                "*container.Config",
                {
                    "Hostname": record.get("hostname") or record["id"][:12],
                    "ExposedPorts": GoMap({p: {} for p in record.get("exposed", [])}) or None,
                    "Env": list(record.get("env", [])),
                    "Cmd": list(record.get("cmd", [])) or None,
                    "Image": record["image_ref"],
                    "Entrypoint": list(record.get("entrypoint", [])) or None,
                    "Labels": GoMap(record.get("labels", {})),
                },
            ),
            "NetworkSettings": Struct(
                "*types.NetworkSettings",
                {
                    "Networks": GoMap(
                        {
                            network: Struct(
                                "*network.EndpointSettings",
                                {"Aliases": None, "NetworkID": "", "IPAddress": record.get("ip", "")},
                            )
                        }
                    )
                },
            ),
        },
    )


# -- images --------------------------------------------------------------------------------------------


def image_rows(image: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(repository, tag) rows of an image: one per tag, or `<none>` twice when it has none."""
    tags = image.get("tags", [])
    if not tags:
        return [("<none>", "<none>")]
    return [split_reference(t) for t in sorted(tags)]


def image_ls_row(image: Mapping[str, Any], repository: str, tag: str, now: int, trunc: bool) -> Struct:
    return Struct(
        "*formatter.imageContext",
        {
            "Containers": "N/A",
            "CreatedAt": go_time(image["created"]),
            "CreatedSince": f"{ago(image['created'], now)} ago",
            "Digest": "<none>",
            "ID": short_id(image["id"]) if trunc else image["id"],
            "Repository": repository,
            "SharedSize": "N/A",
            "Size": human_size(int(image.get("size", 0))),
            "Tag": tag,
            "UniqueSize": "N/A",
            "VirtualSize": human_size(int(image.get("size", 0))),
        },
    )


def image_inspect(image: Mapping[str, Any]) -> Struct:
    return Struct(
        "*image.InspectResponse",
        {
            "Id": image["id"],
            "RepoTags": sorted(image.get("tags", [])),
            "RepoDigests": [],
            "Parent": "",
            "Comment": "",
            "Created": rfc3339nano(image["created"]),
            "DockerVersion": "",
            "Author": "",
            "Config": Struct(
                "*container.Config",
                {
                    "Env": list(image.get("env", [])),
                    "Cmd": list(image.get("cmd", [])) or None,
                    "Entrypoint": list(image.get("entrypoint", [])) or None,
                    "ExposedPorts": GoMap({p: {} for p in image.get("exposed", [])}) or None,
                    "Labels": GoMap(image.get("labels", {})),
                    "WorkingDir": image.get("workdir", ""),
                },
            ),
            "Architecture": image.get("architecture", "amd64"),
            "Os": "linux",
            "Size": int(image.get("size", 0)),
        },
    )


def table(rows: Sequence[Sequence[str]]) -> str:
    """Go's tabwriter as docker sets it up (minwidth 10, padding 3): columns of the header and rows."""
    if not rows:
        return ""
    widths = [0] * max(len(r) for r in rows)
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell) + 3, 10)
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) if i < len(row) - 1 else cell for i, cell in enumerate(row)]
        lines.append("".join(cells).rstrip() if not row[-1] else "".join(cells))
    return "\n".join(lines) + "\n"
