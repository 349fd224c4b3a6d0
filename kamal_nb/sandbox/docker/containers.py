"""The emulator's container commands: ps, run/create, start/stop/restart, rm, rename, exec, logs,
container prune, cp.
"""

from __future__ import annotations

import datetime
import os
import re
import secrets
from collections.abc import Callable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from kamal_nb.sandbox import objects
from kamal_nb.sandbox.docker.args import (
    DOCKER_PS_FILTERS,
    PS_FILTERS,
    PS_SPEC,
    RUN_SPEC,
    STATUSES,
    DockerExit,
    Options,
    daemon_error,
    env_file_lines,
    label_matches,
    labels_from,
    parse_filters,
    parse_options,
    unsupported,
)
from kamal_nb.sandbox.docker.engine import Engine, Handler, registrar
from kamal_nb.sandbox.objects import normalize_reference, now_ns, short_id

COMMANDS: dict[tuple[str, ...], Handler] = {}
command = registrar(COMMANDS)


def _select_containers(engine: Engine, opts: Options, name: str) -> list[dict[str, Any]]:
    filters = parse_filters(name, opts.list("--filter"), PS_FILTERS, DOCKER_PS_FILTERS)
    for status in filters.get("status", []):
        if status not in STATUSES:
            raise daemon_error(f"invalid filter 'status={status}'")
    show_all = opts.flag("--all") or opts.flag("--latest") or "status" in filters or opts.value("--last") is not None
    ancestors: set[str] | None = None
    if "ancestor" in filters:
        ancestors = set()
        for ref in filters["ancestor"]:
            image = engine.find_image(ref)
            if image is not None:
                ancestors.add(image["id"])
    chosen = []
    for record in sorted(engine.containers.values(), key=lambda r: r["created"], reverse=True):
        if not show_all and record["status"] not in ("running", "restarting", "paused"):
            continue
        if "status" in filters and record["status"] not in filters["status"]:
            continue
        if "label" in filters and not label_matches(record.get("labels", {}), filters["label"]):
            continue
        if ancestors is not None and record["image_id"] not in ancestors:
            continue
        if "name" in filters and not any(
            re.search(p, record["name"]) or re.search(p, "/" + record["name"]) for p in filters["name"]
        ):
            continue
        if "id" in filters and not any(record["id"].startswith(p) for p in filters["id"]):
            continue
        if "network" in filters and record.get("network") not in filters["network"]:
            continue
        if "volume" in filters and not any(v.split(":")[0] in filters["volume"] for v in record.get("volumes", [])):
            continue
        if "exited" in filters and not (
            record["status"] == "exited" and str(record.get("exit_code", 0)) in filters["exited"]
        ):
            continue
        if "health" in filters and (record.get("health") or "none") not in filters["health"]:
            continue
        chosen.append(record)
    if opts.flag("--latest"):
        chosen = chosen[:1]
    elif opts.value("--last") is not None:
        chosen = chosen[: int(opts.value("--last") or "0")]
    return chosen


@command("ps", "container ls", "container list", "container ps")
def cmd_ps(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options("ps", argv, PS_SPEC, max_args=0)
    chosen = _select_containers(engine, opts, "ps")
    trunc = not opts.flag("--no-trunc")
    if opts.flag("--quiet") and opts.value("--format") is None:
        for record in chosen:
            engine.print(short_id(record["id"]) if trunc else record["id"])
        return 0
    rows = [objects.ps_row(r, engine.images, engine.now, trunc) for r in chosen]
    template = opts.value("--format") or (
        "table {{.ID}}\\t{{.Image}}\\t{{.Command}}\\t{{.RunningFor}}\\t{{.Status}}\\t{{.Ports}}\\t{{.Names}}"
    )
    if opts.flag("--quiet") and template.startswith("table"):
        template = "{{.ID}}"
    engine.format_lines(template, rows)
    return 0


def _create_container(engine: Engine, opts: Options, positional: list[str], *, command_name: str) -> dict[str, Any]:
    image_ref, *cmd = positional
    name = opts.value("--name") or f"sandbox_{secrets.token_hex(3)}"
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", name):
        raise DockerExit(
            125,
            f"docker: Error response from daemon: Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.",
        )
    clash = engine.find_container(name)
    if clash is not None and clash["name"] == name:
        raise DockerExit(
            125,
            f'docker: Error response from daemon: Conflict. The container name "/{name}" is already in use by container '
            f'"{clash["id"]}". You have to remove (or rename) that container to be able to reuse that name.\n\n'
            f"Run 'docker {command_name} --help' for more information",
        )
    image = engine.find_image(image_ref)
    if image is None:
        if opts.value("--pull") == "never":
            raise DockerExit(125, f"docker: Error response from daemon: No such image: {image_ref}")
        engine.eprint(f"Unable to find image '{normalize_reference(image_ref)}' locally")
        try:
            image = engine.pull(image_ref, to_stderr=True)
        except DockerExit as error:
            raise DockerExit(
                125, "docker: " + error.message + f"\n\nRun 'docker {command_name} --help' for more information"
            ) from None
    network = opts.value("--network") or "bridge"
    if network not in ("bridge", "host", "none") and network not in engine.state["networks"]:
        raise DockerExit(
            125,
            f"docker: Error response from daemon: network {network} not found\n\nRun 'docker {command_name} --help' for more information",
        )
    env: list[str] = list(image.get("env", []))
    for path in opts.list("--env-file"):
        env += env_file_lines(engine.host_dir / path if not path.startswith("/") else Path(path), path)
    for item in opts.list("--env"):
        if "=" not in item:
            if item in os.environ:
                env.append(f"{item}={os.environ[item]}")
            continue
        env.append(item)
    labels = dict(image.get("labels", {}))
    for path in opts.list("--label-file"):
        labels.update(labels_from(env_file_lines(engine.host_dir / path, path)))
    labels.update(labels_from(opts.list("--label")))
    volumes = []
    for spec in opts.list("--volume"):
        source = spec.split(":")[0]
        if not source.startswith("/") and not source.startswith("$") and source not in engine.state["volumes"]:
            engine.state["volumes"][source] = {"name": source, "created": now_ns(), "labels": {}}
        volumes.append(spec)
    restart = opts.value("--restart") or "no"
    if not re.fullmatch(r"no|always|unless-stopped|on-failure(:\d+)?", restart):
        raise DockerExit(
            125,
            f"docker: invalid restart policy '{restart}'\n\nRun 'docker {command_name} --help' for more information",
        )
    health = (
        "healthy"
        if (opts.value("--health-cmd") or image.get("healthcheck")) and not opts.flag("--no-healthcheck")
        else None
    )
    entrypoint = (
        [opts.value("--entrypoint") or ""] if opts.value("--entrypoint") is not None else image.get("entrypoint", [])
    )
    ip = ""
    if network not in ("host", "none"):
        ip = f"172.18.0.{engine.state['next_ip']}"
        engine.state["next_ip"] += 1
    container_id = secrets.token_hex(32)
    record: dict[str, Any] = {
        "id": container_id,
        "name": name,
        "created": now_ns(),
        "image_ref": image_ref,
        "image_id": image["id"],
        "cmd": cmd or list(image.get("cmd", [])),
        "entrypoint": [e for e in entrypoint if e],
        "env": env,
        "labels": labels,
        "hostname": opts.value("--hostname") or container_id[:12],
        "network": network,
        "ip": ip,
        "restart": restart,
        "log_driver": opts.value("--log-driver") or "json-file",
        "log_opts": labels_from(opts.list("--log-opt")),
        "publish": opts.list("--publish"),
        "exposed": sorted({*image.get("exposed", []), *(p if "/" in p else f"{p}/tcp" for p in opts.list("--expose"))}),
        "volumes": volumes,
        "health": health,
        "auto_remove": opts.flag("--rm"),
        "status": "created",
        "exit_code": 0,
        "started_at": None,
        "finished_at": None,
        "restart_count": 0,
        "logs": [],
        "options": {
            k: v
            for k, v in opts.values.items()
            if k in ("--memory", "--cpus", "--user", "--workdir", "--add-host", "--cap-add", "--init")
        },
    }
    engine.containers[container_id] = record
    return record


@command("run", "container run")
def cmd_run(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options(
        "run", argv, RUN_SPEC, interspersed=False, min_args=1, usage="[OPTIONS] IMAGE [COMMAND] [ARG...]"
    )
    record = _create_container(engine, opts, positional, command_name="run")
    engine.start(record)
    if opts.flag("--detach"):
        engine.print(record["id"])
        return 0
    code, out, err = engine.run_in_container(record, [*record["entrypoint"], *record["cmd"]])
    engine.out.append(out)
    engine.err.append(err)
    for line in out.splitlines():
        engine.append_log(record, line)
    record.update(status="exited", finished_at=now_ns(), exit_code=code, pid=0)
    if opts.flag("--rm"):
        engine.remove(record)
    return code


@command("create", "container create")
def cmd_create(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options(
        "create", argv, RUN_SPEC, interspersed=False, min_args=1, usage="[OPTIONS] IMAGE [COMMAND] [ARG...]"
    )
    record = _create_container(engine, opts, positional, command_name="create")
    engine.print(record["id"])
    return 0


def _each(engine: Engine, refs: list[str], action: Callable[[dict[str, Any]], None]) -> int:
    """Docker's loop over containers: print each one done, report the others, exit 1 if any failed."""
    failed = False
    for ref in refs:
        try:
            action(engine.container(ref))
            engine.print(ref)
        except DockerExit as error:
            engine.eprint(error.message)
            failed = True
    return 1 if failed else 0


@command("start", "container start")
def cmd_start(engine: Engine, argv: list[str]) -> int:
    _, refs = parse_options(
        "start",
        argv,
        {"--attach|-a": "bool", "--interactive|-i": "bool"},
        min_args=1,
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
    )
    return _each(engine, refs, engine.start)


@command("stop", "container stop")
def cmd_stop(engine: Engine, argv: list[str]) -> int:
    opts, refs = parse_options(
        "stop",
        argv,
        {"--timeout|-t|--time": "value", "--signal|-s": "value"},
        min_args=1,
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
    )
    timeout = opts.value("--timeout")
    if timeout is not None and not re.fullmatch(r"-?\d+", timeout):
        raise DockerExit(
            125,
            f'invalid argument "{timeout}" for "-t, --timeout" flag: strconv.ParseInt: parsing "{timeout}": invalid syntax',
        )
    return _each(engine, refs, engine.stop)


@command("restart", "container restart")
def cmd_restart(engine: Engine, argv: list[str]) -> int:
    _, refs = parse_options(
        "restart",
        argv,
        {"--timeout|-t|--time": "value", "--signal|-s": "value"},
        min_args=1,
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
    )

    def restart(record: dict[str, Any]) -> None:
        engine.stop(record)
        engine.start(record)

    return _each(engine, refs, restart)


@command("rm", "container rm", "container remove")
def cmd_rm(engine: Engine, argv: list[str]) -> int:
    opts, refs = parse_options(
        "rm",
        argv,
        {"--force|-f": "bool", "--volumes|-v": "bool", "--link|-l": "bool"},
        min_args=1,
        usage="[OPTIONS] CONTAINER [CONTAINER...]",
    )
    failed = False
    for ref in refs:
        record = engine.find_container(ref)
        if record is None:
            if not opts.flag("--force"):
                engine.eprint(f"Error response from daemon: No such container: {ref}")
                failed = True
            continue
        if record["status"] == "running" and not opts.flag("--force"):
            engine.eprint(
                f'Error response from daemon: cannot remove container "/{record["name"]}": container is running: '
                "stop the container before removing or force remove"
            )
            failed = True
            continue
        engine.stop(record)
        engine.remove(record)
        engine.print(ref)
    return 1 if failed else 0


@command("rename", "container rename")
def cmd_rename(engine: Engine, argv: list[str]) -> int:
    _, (old, new) = parse_options("rename", argv, {}, min_args=2, max_args=2, usage="CONTAINER NEW_NAME")
    record = engine.container(old)
    clash = engine.find_container(new)
    if clash is not None and clash["name"] == new:
        raise daemon_error(
            f'Error when allocating new name: Conflict. The container name "/{new}" is already in use by container '
            f'"{clash["id"]}". You have to remove (or rename) that container to be able to reuse that name.'
        )
    if not re.fullmatch(r"[a-zA-Z0-9][a-zA-Z0-9_.-]*", new):
        raise daemon_error(f"Invalid container name ({new}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed.")
    record["name"] = new
    return 0


EXEC_SPEC = {
    "--detach|-d": "bool",
    "--interactive|-i": "bool",
    "--tty|-t": "bool",
    "--privileged": "bool",
    "--env|-e": "list",
    "--env-file": "list",
    "--user|-u": "value",
    "--workdir|-w": "value",
}


@command("exec", "container exec")
def cmd_exec(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options(
        "exec", argv, EXEC_SPEC, interspersed=False, min_args=2, usage="[OPTIONS] CONTAINER COMMAND [ARG...]"
    )
    record = engine.container(positional[0])
    if record["status"] != "running":
        raise daemon_error(f"container {record['id']} is not running")
    extra = [e for e in opts.list("--env") if "=" in e]
    scoped = dict(record, env=[*record.get("env", []), *extra]) if extra else record
    code, out, err = engine.run_in_container(scoped, positional[1:])
    if scoped is not record:
        record.update({k: v for k, v in scoped.items() if k != "env"})
    if not opts.flag("--detach"):
        engine.out.append(out)
        engine.err.append(err)
    return code


def _since(value: str, now: int) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s|m|h)", value)
    if match:
        factor = {"ms": 1e6, "s": 1e9, "m": 60e9, "h": 3600e9}[match.group(2)]
        return now - int(float(match.group(1)) * factor)
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return int(float(value) * 1e9)
    try:
        moment = datetime.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise DockerExit(
            1, f'invalid value for "since": failed to parse value as time or duration: "{value}"'
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return int(moment.timestamp() * 1e9)


@command("logs", "container logs")
def cmd_logs(engine: Engine, argv: list[str]) -> int:
    spec = {
        "--details": "bool",
        "--follow|-f": "bool",
        "--since": "value",
        "--until": "value",
        "--tail|-n": "value",
        "--timestamps|-t": "bool",
    }
    opts, (ref,) = parse_options("logs", argv, spec, min_args=1, max_args=1, usage="[OPTIONS] CONTAINER")
    record = engine.container(ref)
    lines = list(record.get("logs", []))
    if opts.value("--since"):
        since = _since(opts.value("--since") or "", engine.now)
        lines = [entry for entry in lines if entry[0] >= since]
    if opts.value("--until"):
        until = _since(opts.value("--until") or "", engine.now)
        lines = [entry for entry in lines if entry[0] <= until]
    tail = opts.value("--tail", "all")
    if tail != "all":
        try:
            count = int(tail or "0")
        except ValueError:
            raise DockerExit(1, f'Error response from daemon: invalid value for "tail": "{tail}"') from None
        lines = lines[-count:] if count > 0 else [] if count == 0 else lines
    for at, stream, line in lines:
        text = (objects.rfc3339nano(at) + " " if opts.flag("--timestamps") else "") + line + "\n"
        (engine.out if stream == "stdout" else engine.err).append(text)
    return 0


@command("container prune")
def cmd_container_prune(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options("container prune", argv, {"--filter": "list", "--force|-f": "bool"}, max_args=0)
    if not opts.flag("--force"):
        raise unsupported("container prune without --force (it would ask for confirmation on a terminal)")
    filters = parse_filters("container prune", opts.list("--filter"), {"label"}, {"label", "until"})
    removed = [
        r
        for r in sorted(engine.containers.values(), key=lambda r: r["created"])
        if r["status"] not in ("running", "restarting", "paused")
        and label_matches(r.get("labels", {}), filters.get("label", []))
    ]
    if removed:
        engine.print("Deleted Containers:")
        for record in removed:
            engine.remove(record)
            engine.print(record["id"])
        engine.print()
    engine.print("Total reclaimed space: 0B")
    return 0


@command("container cp", "cp")
def cmd_cp(engine: Engine, argv: list[str]) -> int:
    _, (source, dest) = parse_options(
        "cp",
        argv,
        {"--archive|-a": "bool", "--follow-link|-L": "bool", "--quiet|-q": "bool"},
        min_args=2,
        max_args=2,
        usage="[OPTIONS] CONTAINER:SRC_PATH DEST_PATH",
    )
    if ":" not in source or ":" in dest:
        raise unsupported("copying into a container")
    ref, _, path = source.partition(":")
    record = engine.container(ref)
    files: Mapping[str, str] = engine.images.get(record["image_id"], {}).get("files", {})
    copy_contents = path.endswith("/.")
    prefix = path.removesuffix("/.").rstrip("/")
    chosen = {p: c for p, c in files.items() if p == prefix or p.startswith(prefix + "/")}
    if not chosen:
        raise daemon_error(f"Could not find the file {prefix} in container {ref}")
    target = engine.host_dir / dest if not dest.startswith("/") else Path(dest)
    for file_path, content in chosen.items():
        relative = file_path[len(prefix) :].lstrip("/") or PurePosixPath(prefix).name
        where = target / relative if copy_contents or target.is_dir() else target
        if not copy_contents and target.is_dir() and file_path != prefix:
            where = target / PurePosixPath(prefix).name / relative
        where.parent.mkdir(parents=True, exist_ok=True)
        where.write_text(engine.expand(record, content))
    return 0
