"""The emulator's build commands: buildx (version, create, inspect, ls, rm), docker contexts, and
``docker buildx build`` (reads the Dockerfile, registers the image; nothing is really built).
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kamal_nb.sandbox import objects
from kamal_nb.sandbox.docker.args import BUILDX_VERSION, DockerExit, labels_from, parse_options, unsupported
from kamal_nb.sandbox.docker.engine import Engine, Handler, registrar
from kamal_nb.sandbox.docker.images import push_image
from kamal_nb.sandbox.gotemplate import GoMap, Struct, go_json_indent
from kamal_nb.sandbox.objects import normalize_reference, now_ns

COMMANDS: dict[tuple[str, ...], Handler] = {}
command = registrar(COMMANDS)


@command("buildx version")
def cmd_buildx_version(engine: Engine, argv: list[str]) -> int:
    parse_options("buildx version", argv, {}, max_args=0)
    engine.print(BUILDX_VERSION)
    return 0


@command("buildx create")
def cmd_buildx_create(engine: Engine, argv: list[str]) -> int:
    spec = {
        "--name": "value",
        "--driver": "value",
        "--driver-opt": "list",
        "--platform": "list",
        "--append": "bool",
        "--use": "bool",
        "--bootstrap": "bool",
    }
    opts, positional = parse_options("buildx create", argv, spec, max_args=1)
    name = opts.value("--name") or f"sandbox_builder_{secrets.token_hex(3)}"
    builders = engine.state["builders"]
    if name in builders and not opts.flag("--append"):
        raise DockerExit(
            1,
            f'ERROR: existing instance for "{name}" but no append mode, specify the node name to make changes for existing instances',
        )
    if positional and positional[0] not in engine.state["contexts"]:
        raise DockerExit(
            1,
            "ERROR: could not create a builder instance with TLS data loaded from environment. Please use `docker context create <context-name>` to create a context for current environment and then create a builder instance with context set to <context-name>",
        )
    builder = builders.setdefault(
        name, {"name": name, "driver": opts.value("--driver") or "docker-container", "nodes": []}
    )
    builder["nodes"].append(
        {
            "endpoint": positional[0] if positional else "unix:///var/run/docker.sock",
            "platforms": opts.list("--platform"),
        }
    )
    engine.print(name)
    return 0


@command("buildx inspect")
def cmd_buildx_inspect(engine: Engine, argv: list[str]) -> int:
    _, positional = parse_options("buildx inspect", argv, {"--bootstrap": "bool"}, max_args=1)
    name = positional[0] if positional else "default"
    builder = engine.state["builders"].get(name)
    if builder is None:
        raise DockerExit(1, f'ERROR: no builder "{name}" found')
    engine.print(f"Name:          {name}")
    engine.print(f"Driver:        {builder['driver']}")
    engine.print("")
    engine.print("Nodes:")
    for index, node in enumerate(builder["nodes"]):
        engine.print(f"Name:      {name}{index}")
        engine.print(f"Endpoint:  {node['endpoint']}")
        engine.print("Status:    running")
        engine.print(f"Platforms: {', '.join(node['platforms']) or 'linux/amd64'}")
    return 0


@command("buildx ls")
def cmd_buildx_ls(engine: Engine, argv: list[str]) -> int:
    parse_options("buildx ls", argv, {}, max_args=0)
    rows = [["NAME/NODE", "DRIVER/ENDPOINT", "STATUS", "BUILDKIT", "PLATFORMS"], ["default*", "docker", "", "", ""]]
    for name, builder in sorted(engine.state["builders"].items()):
        rows.append([name, builder["driver"], "", "", ""])
        for index, node in enumerate(builder["nodes"]):
            rows.append(
                [f" \\_ {name}{index}", f" \\_ {node['endpoint']}", "running", "v0.22.0", ", ".join(node["platforms"])]
            )
    engine.out.append(objects.table(rows))
    return 0


@command("buildx rm")
def cmd_buildx_rm(engine: Engine, argv: list[str]) -> int:
    _, names = parse_options("buildx rm", argv, {"--force|-f": "bool", "--keep-state": "bool"}, min_args=1)
    for name in names:
        if engine.state["builders"].pop(name, None) is None:
            raise DockerExit(1, f'ERROR: no builder "{name}" found')
        engine.eprint(f"{name} removed")
    return 0


@command("context create")
def cmd_context_create(engine: Engine, argv: list[str]) -> int:
    opts, (name,) = parse_options(
        "context create", argv, {"--description": "value", "--docker": "value"}, min_args=1, max_args=1
    )
    if name in engine.state["contexts"]:
        raise DockerExit(1, f'context "{name}" already exists')
    host = dict(p.partition("=")[::2] for p in (opts.value("--docker") or "").split(",") if p).get("host", "")
    engine.state["contexts"][name] = {"name": name, "description": opts.value("--description") or "", "host": host}
    engine.print(name)
    engine.eprint(f'Successfully created context "{name}"')
    return 0


@command("context inspect")
def cmd_context_inspect(engine: Engine, argv: list[str]) -> int:
    opts, names = parse_options("context inspect", argv, {"--format|-f": "value"}, max_args=None)
    found = []
    for name in names or ["default"]:
        context = engine.state["contexts"].get(name)
        if context is None and name != "default":
            raise DockerExit(1, f"context {name!r} does not exist".replace("'", '"'))
        host = context["host"] if context else "unix:///var/run/docker.sock"
        found.append(
            Struct(
                "command.ContextInspect",
                {
                    "Name": name,
                    "Metadata": Struct(
                        "command.DockerContext", {"Description": context["description"] if context else ""}
                    ),
                    "Endpoints": GoMap(
                        {"docker": Struct("docker.EndpointMeta", {"Host": host, "SkipTLSVerify": False})}
                    ),
                },
            )
        )
    template = opts.value("--format")
    for obj in found:
        engine.print(engine.render(template, obj) if template else go_json_indent([obj]))
    return 0


@command("context ls", "context list")
def cmd_context_ls(engine: Engine, argv: list[str]) -> int:
    parse_options("context ls", argv, {"--format": "value", "--quiet|-q": "bool"}, max_args=0)
    rows = [
        ["NAME", "DESCRIPTION", "DOCKER ENDPOINT", "ERROR"],
        ["default *", "Current DOCKER_HOST based configuration", "unix:///var/run/docker.sock", ""],
    ]
    rows += [
        [c["name"], c["description"], c["host"], ""]
        for c in sorted(engine.state["contexts"].values(), key=lambda c: c["name"])
    ]
    engine.out.append(objects.table(rows))
    return 0


@command("context rm", "context remove")
def cmd_context_rm(engine: Engine, argv: list[str]) -> int:
    _, names = parse_options("context rm", argv, {"--force|-f": "bool"}, min_args=1)
    for name in names:
        if engine.state["contexts"].pop(name, None) is None:
            raise DockerExit(1, f'context "{name}" does not exist')
        engine.print(name)
    return 0


BUILD_SPEC = {
    "--output|-o": "list",
    "--platform": "list",
    "--builder": "value",
    "--tag|-t": "list",
    "--label": "list",
    "--build-arg": "list",
    "--secret": "list",
    "--file|-f": "value",
    "--target": "value",
    "--ssh": "list",
    "--cache-to": "list",
    "--cache-from": "list",
    "--provenance": "value",
    "--sbom": "value",
    "--no-cache": "bool",
    "--push": "bool",
    "--load": "bool",
    "--pull": "bool",
    "--progress": "value",
    "--quiet|-q": "bool",
}


def read_dockerfile(text: str, build_args: Mapping[str, str]) -> dict[str, Any]:
    """What a Dockerfile sets that the sandbox keeps: FROM, LABEL, ENV, EXPOSE, CMD, ENTRYPOINT, and
    ``# sandbox-file PATH CONTENT`` comments (files a demo image serves; RUN never runs here)."""
    args: dict[str, str] = {}
    found: dict[str, Any] = {"from": None, "labels": {}, "env": [], "exposed": [], "files": {}}
    lines = text.replace("\\\n", " ").splitlines()

    def expand(value: str) -> str:
        return re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), ""), value)

    for raw in lines:
        line = raw.strip()
        if line.startswith("# sandbox-file "):
            path, _, content = line.removeprefix("# sandbox-file ").partition(" ")
            found["files"][path] = expand(content.replace("\\n", "\n"))
            continue
        if not line or line.startswith("#"):
            continue
        instruction, _, rest = line.partition(" ")
        instruction = instruction.upper()
        if instruction == "ARG":
            key, has_default, default = rest.strip().partition("=")
            args[key] = build_args.get(key, default if has_default else "")
        elif instruction == "FROM":
            found["from"] = expand(rest.split()[0])
        elif instruction == "LABEL":
            for key, value in re.findall(r'([\w.\-]+)=("(?:[^"\\]|\\.)*"|\S+)', rest):
                found["labels"][key] = expand(value[1:-1] if value.startswith('"') else value)
        elif instruction == "ENV":
            for key, value in re.findall(r'([\w]+)=("(?:[^"\\]|\\.)*"|\S+)', rest):
                found["env"].append(f"{key}={expand(value.strip(chr(34)))}")
        elif instruction == "EXPOSE":
            found["exposed"] += [p if "/" in p else f"{p}/tcp" for p in rest.split()]
        elif instruction in ("CMD", "ENTRYPOINT"):
            value = json.loads(rest) if rest.strip().startswith("[") else ["/bin/sh", "-c", rest.strip()]
            found[instruction.lower()] = value
    return found


@command("buildx build", "build", "image build", "builder build")
def cmd_build(engine: Engine, argv: list[str]) -> int:
    opts, (context,) = parse_options(
        "buildx build", argv, BUILD_SPEC, min_args=1, max_args=1, usage="[OPTIONS] PATH | URL | -"
    )
    builder = opts.value("--builder")
    if builder and builder not in engine.state["builders"]:
        raise DockerExit(1, f'ERROR: no builder "{builder}" found')
    context_dir = Path(context) if context.startswith("/") else Path.cwd() / context
    dockerfile = (
        context_dir / (opts.value("--file") or "Dockerfile")
        if not (opts.value("--file") or "").startswith("/")
        else Path(opts.value("--file") or "")
    )
    if opts.value("--file") and not Path(opts.value("--file") or "").is_absolute():
        dockerfile = Path.cwd() / (opts.value("--file") or "")
    try:
        text = dockerfile.read_text()
    except FileNotFoundError:
        raise DockerExit(
            1,
            f"ERROR: failed to build: failed to solve: failed to read dockerfile: open {dockerfile.name}: no such file or directory",
        ) from None
    build_args = labels_from(opts.list("--build-arg"))
    parsed = read_dockerfile(text, build_args)
    base: dict[str, Any] = {}
    if parsed["from"] and parsed["from"] != "scratch":
        found = engine.find_image(parsed["from"])
        if found is None:
            try:
                found = engine.pull(parsed["from"], quiet=True)
            except DockerExit as error:
                raise DockerExit(
                    1, f"ERROR: failed to build: failed to solve: {parsed['from']}: {error.message}"
                ) from None
        base = dict(found)
    image: dict[str, Any] = {
        "labels": {**base.get("labels", {}), **parsed["labels"], **labels_from(opts.list("--label"))},
        "env": [*base.get("env", []), *parsed["env"]],
        "exposed": sorted({*base.get("exposed", []), *parsed["exposed"]}),
        "cmd": parsed.get("cmd", base.get("cmd", [])),
        "entrypoint": parsed.get("entrypoint", base.get("entrypoint", [])),
        "files": {**base.get("files", {}), **parsed["files"]},
        "programs": base.get("programs", {}),
        "http": base.get("http"),
        "proxy": base.get("proxy", False),
        "size": int(base.get("size", 1_000_000)) + len(text),
        "architecture": (opts.list("--platform") or ["linux/amd64"])[0].split(",")[0].rpartition("/")[2],
        "created": now_ns(),
    }
    image["id"] = (
        "sha256:"
        + hashlib.sha256(
            json.dumps({k: v for k, v in image.items() if k != "created"}, sort_keys=True).encode()
        ).hexdigest()
    )
    tags = [normalize_reference(t) for t in opts.list("--tag")]
    outputs = opts.list("--output") or (["type=registry"] if opts.flag("--push") else ["type=docker"])
    kinds = {dict(p.partition("=")[::2] for p in o.split(",")).get("type", "") for o in outputs}
    if not kinds <= {"registry", "docker", "image"}:
        raise unsupported(f"--output {', '.join(outputs)}")
    engine.eprint(f'#0 building with "{builder or "default"}" instance using docker driver (kamal_nb sandbox)')
    engine.eprint(f"#1 [internal] load build definition from {dockerfile.name}")
    engine.eprint("#1 DONE 0.0s")
    if "registry" in kinds or opts.flag("--push"):
        for tag in tags:
            try:
                digest = push_image(engine, tag, image)
            except DockerExit as error:
                raise DockerExit(1, f"ERROR: failed to push {tag}: {error.message}") from None
            engine.eprint(f"#2 pushing {tag} with docker")
            engine.eprint(f"#2 pushing manifest for {tag}@{digest} 0.0s done")
    if "docker" in kinds or opts.flag("--load"):
        stored = engine.images.setdefault(image["id"], {**image, "tags": []})
        for tag in tags:
            engine.untag(tag)
        stored["tags"] = sorted({*stored.get("tags", []), *tags})
        engine.eprint(f"#2 naming to {', '.join(tags)} done")
    engine.eprint("#2 DONE 0.0s")
    return 0
