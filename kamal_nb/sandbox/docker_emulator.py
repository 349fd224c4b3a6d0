"""A docker stand-in for sandbox hosts: exactly the docker commands kamal_nb and Kamal 2.12 emit.

Run as ``python -m kamal_nb.sandbox.docker_emulator ARGS…`` (the sandbox's ``bin/docker`` shim does
that). Containers, images, networks, volumes and builders live in the host's ``.sandbox/docker.json``;
images come from the sandbox registry (``docker pull`` needs the image there and a ``docker login``);
``docker buildx build`` registers images. Container processes do not run: a started container stays
"running" until stopped, and ``docker exec`` / ``docker logs`` give the answers the demo images define.

Output formats follow docker's (tables, ``--format`` Go templates, inspect JSON, messages, exit codes).
Whatever it does not implement fails loudly: an unknown command or option exits 125 and names it.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from kamal_nb.sandbox.docker import builds, containers, images, networks, system
from kamal_nb.sandbox.docker.args import CLIENT_VERSION, NOTE, DockerExit, unsupported
from kamal_nb.sandbox.docker.engine import Engine, Handler
from kamal_nb.sandbox.layout import (
    EMPTY_ENGINE,
    engine_file,
    host_meta_file,
    locked_json,
)

COMMANDS: dict[tuple[str, ...], Handler] = {
    **containers.COMMANDS,
    **images.COMMANDS,
    **networks.COMMANDS,
    **builds.COMMANDS,
    **system.COMMANDS,
}


def dispatch(engine: Engine, argv: list[str]) -> int:
    if not argv or argv[0] in ("--help", "help"):
        engine.print("Usage:  docker [OPTIONS] COMMAND  (the kamal_nb sandbox's docker emulator)")
        engine.print("")
        engine.print("Commands: " + ", ".join(sorted(" ".join(p) for p in COMMANDS)))
        return 0
    if argv[0] in ("-v", "--version"):
        if len(argv) > 1:
            raise unsupported(f"docker {' '.join(argv)}")
        engine.print(f"Docker version {CLIENT_VERSION}, build sandbox")
        return 0
    if argv[0].startswith("-"):
        raise unsupported(f"unknown flag: {argv[0].partition('=')[0]}")
    for length in (2, 1):
        path = tuple(argv[:length])
        if path in COMMANDS:
            return COMMANDS[path](engine, list(argv[length:]))
    if argv[0] in {p[0] for p in COMMANDS if len(p) == 2} and len(argv) > 1:
        raise unsupported(f"docker {argv[0]} {argv[1]}: unknown command")
    raise DockerExit(
        125, f"docker: unknown command: docker {argv[0]} {NOTE}\n\nRun 'docker --help' for more information"
    )


def locate_host(env: Mapping[str, str]) -> tuple[Path, Path | None]:
    """The host's directory and the sandbox root, from the environment the sandbox pool sets."""
    for candidate in (env.get("KAMAL_NB_SANDBOX_HOST_DIR"), env.get("HOME")):
        if candidate and host_meta_file(Path(candidate)).is_file():
            meta = json.loads(host_meta_file(Path(candidate)).read_text())
            root = meta.get("root")
            return Path(candidate), Path(root) if root else None
    raise DockerExit(
        1, "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?"
    )


def execute(argv: Sequence[str], host_dir: Path, root: Path | None, stdin: str = "") -> tuple[int, str, str]:
    """Run one docker command on a sandbox host: (exit code, stdout, stderr)."""
    with locked_json(engine_file(host_dir), EMPTY_ENGINE) as state:
        for key, value in EMPTY_ENGINE.items():
            state.setdefault(key, json.loads(json.dumps(value)))
        engine = Engine(host_dir, state, root, stdin)
        try:
            code = dispatch(engine, list(argv))
        except DockerExit as error:
            engine.err.append(error.message + "\n")
            code = error.code
    return code, "".join(engine.out), "".join(engine.err)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        host_dir, root = locate_host(os.environ)
    except DockerExit as error:
        sys.stderr.write(error.message + "\n")
        return error.code
    reads_stdin = "--password-stdin" in args
    stdin = sys.stdin.read() if reads_stdin and not sys.stdin.isatty() else ""
    code, out, err = execute(args, host_dir, root, stdin)
    try:
        sys.stdout.write(out)
        sys.stdout.flush()
    except BrokenPipeError:  # `| head -1` stopped reading: docker dies of SIGPIPE, silently
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    sys.stderr.write(err)
    return code


if __name__ == "__main__":
    sys.exit(main())
