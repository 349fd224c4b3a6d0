"""The emulator's network and volume commands: create, ls, rm."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from typing import Any

from kamal_nb.sandbox import objects
from kamal_nb.sandbox.docker.args import daemon_error, labels_from, parse_filters, parse_options
from kamal_nb.sandbox.docker.engine import Engine, Handler, registrar
from kamal_nb.sandbox.gotemplate import GoMap, Struct
from kamal_nb.sandbox.objects import now_ns

COMMANDS: dict[tuple[str, ...], Handler] = {}
command = registrar(COMMANDS)


def network_struct(network: Mapping[str, Any]) -> Struct:
    return Struct(
        "network.Inspect",
        {
            "Name": network["name"],
            "Id": network["id"],
            "Created": objects.rfc3339nano(network["created"]),
            "Scope": "local",
            "Driver": network.get("driver", "bridge"),
            "Internal": False,
            "Attachable": False,
            "Labels": GoMap(network.get("labels", {})),
        },
    )


def volume_struct(volume: Mapping[str, Any]) -> Struct:
    return Struct(
        "*volume.Volume",
        {
            "CreatedAt": objects.rfc3339nano(volume["created"]).split(".")[0] + "Z",
            "Driver": "local",
            "Labels": GoMap(volume.get("labels", {})),
            "Mountpoint": f"/var/lib/docker/volumes/{volume['name']}/_data",
            "Name": volume["name"],
            "Options": None,
            "Scope": "local",
        },
    )


@command("network create")
def cmd_network_create(engine: Engine, argv: list[str]) -> int:
    opts, (name,) = parse_options(
        "network create",
        argv,
        {"--driver|-d": "value", "--attachable": "bool", "--internal": "bool", "--label": "list", "--subnet": "list"},
        min_args=1,
        max_args=1,
        usage="[OPTIONS] NETWORK",
    )
    if name in engine.state["networks"] or name in ("bridge", "host", "none"):
        raise daemon_error(f"network with name {name} already exists")
    network_id = secrets.token_hex(32)
    engine.state["networks"][name] = {
        "name": name,
        "id": network_id,
        "created": now_ns(),
        "driver": opts.value("--driver") or "bridge",
        "labels": labels_from(opts.list("--label")),
    }
    engine.print(network_id)
    return 0


@command("network ls", "network list")
def cmd_network_ls(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options(
        "network ls",
        argv,
        {"--format": "value", "--quiet|-q": "bool", "--no-trunc": "bool", "--filter|-f": "list"},
        max_args=0,
    )
    filters = parse_filters(
        "network ls", opts.list("--filter"), {"name"}, {"name", "id", "label", "driver", "scope", "type", "dangling"}
    )
    builtin = [
        {"name": n, "id": hashlib.sha256(n.encode()).hexdigest(), "driver": "null" if n == "none" else n}
        for n in ("bridge", "host", "none")
    ]
    networks = sorted([*builtin, *engine.state["networks"].values()], key=lambda n: n["name"])
    networks = [n for n in networks if all(p in n["name"] for p in filters.get("name", []))]
    rows = [
        Struct(
            "*formatter.networkContext",
            {"ID": n["id"][:12], "Name": n["name"], "Driver": n.get("driver", "bridge"), "Scope": "local"},
        )
        for n in networks
    ]
    if opts.flag("--quiet"):
        for row in rows:
            engine.print(row["ID"])
        return 0
    engine.format_lines(opts.value("--format") or "table {{.ID}}\\t{{.Name}}\\t{{.Driver}}\\t{{.Scope}}", rows)
    return 0


@command("network rm", "network remove")
def cmd_network_rm(engine: Engine, argv: list[str]) -> int:
    _, names = parse_options("network rm", argv, {"--force|-f": "bool"}, min_args=1, usage="NETWORK [NETWORK...]")
    failed = False
    for name in names:
        if name not in engine.state["networks"]:
            engine.eprint(f"Error response from daemon: network {name} not found")
            failed = True
            continue
        users = [c for c in engine.containers.values() if c.get("network") == name and c["status"] == "running"]
        if users:
            engine.eprint(
                f"Error response from daemon: error while removing network: network {name} id {engine.state['networks'][name]['id']} has active endpoints"
            )
            failed = True
            continue
        del engine.state["networks"][name]
        engine.print(name)
    return 1 if failed else 0


@command("volume create")
def cmd_volume_create(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options("volume create", argv, {"--label": "list", "--driver|-d": "value"}, max_args=1)
    name = positional[0] if positional else secrets.token_hex(32)
    engine.state["volumes"].setdefault(
        name, {"name": name, "created": now_ns(), "labels": labels_from(opts.list("--label"))}
    )
    engine.print(name)
    return 0


@command("volume ls", "volume list")
def cmd_volume_ls(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options("volume ls", argv, {"--format": "value", "--quiet|-q": "bool"}, max_args=0)
    rows = [Struct("*formatter.volumeContext", {"Driver": "local", "Name": v}) for v in sorted(engine.state["volumes"])]
    if opts.flag("--quiet"):
        for row in rows:
            engine.print(row["Name"])
        return 0
    engine.format_lines(opts.value("--format") or "table {{.Driver}}\\t{{.Name}}", rows)
    return 0


@command("volume rm", "volume remove")
def cmd_volume_rm(engine: Engine, argv: list[str]) -> int:
    opts, names = parse_options(
        "volume rm", argv, {"--force|-f": "bool"}, min_args=1, usage="[OPTIONS] VOLUME [VOLUME...]"
    )
    failed = False
    for name in names:
        if name not in engine.state["volumes"]:
            if not opts.flag("--force"):
                engine.eprint(f"Error response from daemon: get {name}: no such volume")
                failed = True
            continue
        users = [
            c["id"] for c in engine.containers.values() if any(v.split(":")[0] == name for v in c.get("volumes", []))
        ]
        if users:
            engine.eprint(f"Error response from daemon: remove {name}: volume is in use - [{', '.join(users)}]")
            failed = True
            continue
        del engine.state["volumes"][name]
        engine.print(name)
    return 1 if failed else 0
