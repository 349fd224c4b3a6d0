"""The emulator's commands about the engine itself and its objects: inspect (containers, images,
networks, volumes), version, info.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from kamal_nb.sandbox import objects
from kamal_nb.sandbox.docker.args import API_VERSION, CLIENT_VERSION, SERVER_VERSION, DockerExit, parse_options
from kamal_nb.sandbox.docker.engine import Engine, Handler, registrar
from kamal_nb.sandbox.docker.networks import network_struct, volume_struct
from kamal_nb.sandbox.gotemplate import GoMap, Struct, go_json_indent

COMMANDS: dict[tuple[str, ...], Handler] = {}
command = registrar(COMMANDS)


INSPECT_SPEC = {"--format|-f": "value", "--type": "value", "--size|-s": "bool"}


def _inspect(engine: Engine, argv: list[str], command_name: str, kind: str | None) -> int:
    opts, refs = parse_options(command_name, argv, INSPECT_SPEC, min_args=1, usage="[OPTIONS] NAME|ID [NAME|ID...]")
    kind = kind or opts.value("--type")
    if kind not in (None, "container", "image", "network", "volume"):
        raise DockerExit(125, f'"{kind}" is not a valid value for --type')
    found: list[Any] = []
    missing: list[str] = []
    for ref in refs:
        obj: Any = None
        if kind in (None, "container"):
            record = engine.find_container(ref)
            obj = objects.container_inspect(record) if record is not None else None
        if obj is None and kind in (None, "image"):
            image = engine.find_image(ref)
            obj = objects.image_inspect(image) if image is not None else None
        if obj is None and kind in (None, "network") and ref in engine.state["networks"]:
            obj = network_struct(engine.state["networks"][ref])
        if obj is None and kind in (None, "volume") and ref in engine.state["volumes"]:
            obj = volume_struct(engine.state["volumes"][ref])
        if obj is None:
            missing.append(ref)
        else:
            found.append(obj)
    template = opts.value("--format")
    if template is None:
        engine.print(go_json_indent(found))
    else:
        for obj in found:
            text = engine.render(template, obj)
            engine.print(text)
    for ref in missing:
        noun = {None: "object", "container": "container", "image": "image", "network": "network", "volume": "volume"}[
            kind
        ]
        engine.eprint(f"Error: No such {noun}: {ref}")
    return 1 if missing else 0


@command("inspect")
def cmd_inspect(engine: Engine, argv: list[str]) -> int:
    return _inspect(engine, argv, "inspect", None)


@command("container inspect")
def cmd_container_inspect(engine: Engine, argv: list[str]) -> int:
    return _inspect(engine, argv, "container inspect", "container")


@command("image inspect")
def cmd_image_inspect(engine: Engine, argv: list[str]) -> int:
    return _inspect(engine, argv, "image inspect", "image")


@command("network inspect")
def cmd_network_inspect(engine: Engine, argv: list[str]) -> int:
    return _inspect(engine, argv, "network inspect", "network")


@command("volume inspect")
def cmd_volume_inspect(engine: Engine, argv: list[str]) -> int:
    return _inspect(engine, argv, "volume inspect", "volume")


def _version_struct(engine: Engine) -> Struct:
    return Struct(
        "types.VersionResponse",
        {
            "Client": Struct(
                "*client.Version",
                {
                    "Platform": GoMap({"Name": ""}),
                    "Version": CLIENT_VERSION,
                    "ApiVersion": API_VERSION,
                    "GoVersion": "go1.24.3",
                    "GitCommit": "sandbox",
                    "Os": "linux",
                    "Arch": "amd64",
                    "Context": "default",
                },
            ),
            "Server": Struct(
                "*types.Version",
                {
                    "Platform": GoMap({"Name": "kamal_nb sandbox"}),
                    "Version": SERVER_VERSION,
                    "ApiVersion": API_VERSION,
                    "MinAPIVersion": "1.24",
                    "GitCommit": "sandbox",
                    "GoVersion": "go1.24.3",
                    "Os": "linux",
                    "Arch": "amd64",
                    "KernelVersion": os.uname().release,
                },
            ),
        },
    )


@command("version")
def cmd_version(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options("version", argv, {"--format|-f": "value"}, max_args=0)
    version = _version_struct(engine)
    template = opts.value("--format")
    if template is not None:
        engine.print(engine.render(template, version))
        return 0
    client, server = version["Client"], version["Server"]
    engine.print("Client:")
    engine.print(f" Version:           {client['Version']}")
    engine.print(f" API version:       {client['ApiVersion']}")
    engine.print(f" Go version:        {client['GoVersion']}")
    engine.print(f" Git commit:        {client['GitCommit']}")
    engine.print(f" OS/Arch:           {client['Os']}/{client['Arch']}")
    engine.print(" Context:           default")
    engine.print("")
    engine.print("Server: kamal_nb sandbox")
    engine.print(" Engine:")
    engine.print(f"  Version:          {server['Version']}")
    engine.print(f"  API version:      {server['ApiVersion']} (minimum version {server['MinAPIVersion']})")
    engine.print(f"  OS/Arch:          {server['Os']}/{server['Arch']}")
    return 0


@command("info", "system info")
def cmd_info(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options("info", argv, {"--format|-f": "value"}, max_args=0)
    running = sum(1 for c in engine.containers.values() if c["status"] == "running")
    info = Struct(
        "system.Info",
        {
            "ID": hashlib.sha256(str(engine.host_dir).encode()).hexdigest()[:36],
            "Containers": len(engine.containers),
            "ContainersRunning": running,
            "ContainersPaused": 0,
            "ContainersStopped": len(engine.containers) - running,
            "Images": len(engine.images),
            "Driver": "overlay2",
            "Name": engine.host_dir.name,
            "ServerVersion": SERVER_VERSION,
            "OperatingSystem": "kamal_nb sandbox",
            "RegistryConfig": Struct(
                "*registry.ServiceConfig", {"InsecureRegistryCIDRs": [], "IndexConfigs": GoMap({}), "Mirrors": []}
            ),
        },
    )
    template = opts.value("--format")
    if template is not None:
        engine.print(engine.render(template, info))
        return 0
    engine.print("Client:")
    engine.print(f" Version:    {CLIENT_VERSION}")
    engine.print(" Context:    default")
    engine.print("")
    engine.print("Server:")
    engine.print(f" Containers: {info['Containers']}")
    engine.print(f"  Running: {running}")
    engine.print("  Paused: 0")
    engine.print(f"  Stopped: {info['ContainersStopped']}")
    engine.print(f" Images: {info['Images']}")
    engine.print(f" Server Version: {SERVER_VERSION}")
    engine.print(" Storage Driver: overlay2")
    engine.print(f" Name: {info['Name']}")
    return 0
