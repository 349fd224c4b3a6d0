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

import base64
import binascii
import datetime
import hashlib
import json
import os
import re
import secrets
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from kamal_nb.sandbox import objects
from kamal_nb.sandbox.gotemplate import GoMap, Struct, TemplateError, go_json_indent, render
from kamal_nb.sandbox.layout import (
    EMPTY_ENGINE,
    EMPTY_REGISTRY,
    engine_file,
    host_meta_file,
    locked_json,
    read_json,
    registry_file,
    write_json,
)
from kamal_nb.sandbox.objects import normalize_reference, now_ns, short_id, split_reference
from kamal_nb.sandbox.proxy import ProxyRoutes, log_line, started_line

CLIENT_VERSION = "28.2.2"
SERVER_VERSION = "28.2.2-sandbox"  # tells a sandbox host apart in `docker version` and state tables
API_VERSION = "1.50"
BUILDX_VERSION = "github.com/docker/buildx v0.24.0-sandbox kamal-nb"
NOTE = "(the kamal_nb sandbox's docker emulator does not support it)"


class DockerExit(Exception):
    """End the command with ``code`` after printing ``message`` on stderr."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def unsupported(what: str, command: str = "") -> DockerExit:
    see = f"\nSee 'docker {command} --help'." if command else ""
    return DockerExit(125, f"{what} {NOTE}{see}")


def daemon_error(message: str, code: int = 1) -> DockerExit:
    return DockerExit(code, f"Error response from daemon: {message}")


# -- option parsing (pflag's rules: --x=v, --x v, -x v, -xv, -abc, --) ---------------------------------


@dataclass(frozen=True)
class Options:
    values: Mapping[str, Any]

    def flag(self, name: str) -> bool:
        return bool(self.values.get(name, False))

    def value(self, name: str, default: str | None = None) -> str | None:
        found = self.values.get(name)
        return found if isinstance(found, str) else default

    def list(self, name: str) -> list[str]:
        found = self.values.get(name)
        return list(found) if isinstance(found, list) else []


def parse_options(
    command: str,
    argv: Sequence[str],
    spec: Mapping[str, str],
    *,
    interspersed: bool = True,
    min_args: int = 0,
    max_args: int | None = None,
    usage: str = "",
) -> tuple[Options, list[str]]:
    """``spec``: "--name|-n" -> "bool" | "value" | "list"."""
    names: dict[str, tuple[str, str]] = {}
    for key, kind in spec.items():
        canonical = key.split("|")[0]
        for alias in key.split("|"):
            names[alias] = (canonical, kind)
    values: dict[str, Any] = {}
    positional: list[str] = []

    def store(canonical: str, kind: str, value: str | None) -> None:
        if kind == "bool":
            if value not in (None, "true", "false", "1", "0"):
                raise DockerExit(125, f'invalid argument "{value}" for "{canonical}" flag: parse error')
            values[canonical] = value in (None, "true", "1")
        elif kind == "list":
            values.setdefault(canonical, []).append(value)
        else:
            values[canonical] = value

    args = list(argv)
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            positional += args[index:]
            break
        if arg.startswith("--") and len(arg) > 2:
            name, has_value, value = arg.partition("=")
            if name not in names:
                raise unsupported(f"unknown flag: {name}", command)
            canonical, kind = names[name]
            if kind != "bool" and not has_value:
                if index >= len(args):
                    raise DockerExit(125, f"flag needs an argument: {name}\nSee 'docker {command} --help'.")
                value = args[index]
                index += 1
            store(canonical, kind, value if has_value or kind != "bool" else None)
        elif arg.startswith("-") and len(arg) > 1:
            position = 1
            while position < len(arg):
                letter = "-" + arg[position]
                if letter not in names:
                    raise unsupported(f"unknown shorthand flag: '{arg[position]}' in {arg}", command)
                canonical, kind = names[letter]
                position += 1
                if kind == "bool":
                    store(canonical, kind, None)
                    continue
                rest = arg[position:].removeprefix("=")
                if not rest:
                    if index >= len(args):
                        raise DockerExit(125, f"flag needs an argument: '{letter[1]}' in {arg}")
                    rest = args[index]
                    index += 1
                store(canonical, kind, rest)
                break
        else:
            positional.append(arg)
            if not interspersed:
                positional += args[index:]
                break
    if len(positional) < min_args:
        need = "at least 1 argument" if min_args == 1 else f"at least {min_args} arguments"
        if max_args == min_args:
            need = "exactly 1 argument" if min_args == 1 else f"exactly {min_args} arguments"
        raise DockerExit(
            1,
            f"docker: 'docker {command}' requires {need}\n\nUsage:  docker {command} {usage}\n\nSee 'docker {command} --help' for more information",
        )
    if max_args is not None and len(positional) > max_args:
        if max_args == 0:
            raise DockerExit(
                1,
                f"docker: 'docker {command}' accepts no arguments\n\nSee 'docker {command} --help' for more information",
            )
        raise DockerExit(
            1,
            f"docker: 'docker {command}' requires {'exactly' if max_args == min_args else 'at most'} {max_args} argument{'s' if max_args > 1 else ''}\n\nSee 'docker {command} --help' for more information",
        )
    return Options(values), positional


RUN_SPEC = {
    "--detach|-d": "bool",
    "--rm": "bool",
    "--interactive|-i": "bool",
    "--tty|-t": "bool",
    "--init": "bool",
    "--privileged": "bool",
    "--read-only": "bool",
    "--name": "value",
    "--restart": "value",
    "--network|--net": "value",
    "--hostname|-h": "value",
    "--env|-e": "list",
    "--env-file": "list",
    "--label|-l": "list",
    "--label-file": "list",
    "--log-driver": "value",
    "--log-opt": "list",
    "--publish|-p": "list",
    "--expose": "list",
    "--volume|-v": "list",
    "--mount": "list",
    "--tmpfs": "list",
    "--memory|-m": "value",
    "--memory-reservation": "value",
    "--memory-swap": "value",
    "--cpus": "value",
    "--cpu-shares|-c": "value",
    "--pids-limit": "value",
    "--shm-size": "value",
    "--ulimit": "list",
    "--add-host": "list",
    "--dns": "list",
    "--network-alias": "list",
    "--cap-add": "list",
    "--cap-drop": "list",
    "--security-opt": "list",
    "--sysctl": "list",
    "--device": "list",
    "--group-add": "list",
    "--user|-u": "value",
    "--workdir|-w": "value",
    "--entrypoint": "value",
    "--stop-signal": "value",
    "--stop-timeout": "value",
    "--health-cmd": "value",
    "--health-interval": "value",
    "--health-timeout": "value",
    "--health-retries": "value",
    "--health-start-period": "value",
    "--no-healthcheck": "bool",
    "--pull": "value",
    "--platform": "value",
}
PS_SPEC = {
    "--all|-a": "bool",
    "--filter|-f": "list",
    "--format": "value",
    "--latest|-l": "bool",
    "--last|-n": "value",
    "--quiet|-q": "bool",
    "--no-trunc": "bool",
    "--size|-s": "bool",
}
PS_FILTERS = {"label", "status", "ancestor", "name", "id", "network", "volume", "exited", "health"}
DOCKER_PS_FILTERS = {*PS_FILTERS, "before", "since", "expose", "publish", "isolation", "is-task"}
STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}


def _filters(command: str, raw: Iterable[str], known: set[str], docker_known: set[str]) -> dict[str, list[str]]:
    filters: dict[str, list[str]] = {}
    for item in raw:
        key, has_value, value = item.partition("=")
        key = key.strip().lower()
        if not has_value:
            raise DockerExit(
                125,
                f'invalid argument "{item}" for "-f, --filter" flag: bad format of filter (expected name=value)\nSee \'docker {command} --help\'.',
            )
        if key not in docker_known:
            raise daemon_error(f"invalid filter '{key}'")
        if key not in known:
            raise unsupported(f"the {key}= filter")
        filters.setdefault(key, []).append(value)
    return filters


def _label_matches(labels: Mapping[str, str], wanted: Iterable[str]) -> bool:
    for item in wanted:
        key, has_value, value = item.partition("=")
        if key not in labels or (has_value and labels[key] != value):
            return False
    return True


def _reference_match(pattern: str, tag: str) -> bool:
    """Docker's reference filter: path.Match against `name:tag`, or against `name` alone."""
    regex = "".join(
        "[^/]*" if c == "*" else "[^/]" if c == "?" else re.escape(c) if c not in "[]" else c for c in pattern
    )
    name, _ = split_reference(tag)
    return bool(re.fullmatch(regex, tag) or (":" not in pattern.rpartition("/")[2] and re.fullmatch(regex, name)))


def _env_file_lines(path: Path, given: str) -> list[str]:
    try:
        text = path.read_text()
    except FileNotFoundError:
        raise DockerExit(
            125, f"docker: open {given}: no such file or directory\n\nRun 'docker run --help' for more information"
        ) from None
    lines = []
    for raw in text.splitlines():
        line = raw.lstrip()
        if not line or line.startswith("#"):
            continue
        key, has_value, _ = line.partition("=")
        if not has_value:
            value = os.environ.get(key)
            if value is None:
                continue
            line = f"{key}={value}"
        lines.append(line)
    return lines


def _labels_from(items: Iterable[str]) -> dict[str, str]:
    labels: dict[str, str] = {}
    for item in items:
        key, _, value = item.partition("=")
        labels[key] = value
    return labels


# -- the engine ---------------------------------------------------------------------------------------


class Engine:
    """One docker invocation on one sandbox host: its state (locked for the call) and its output."""

    def __init__(self, host_dir: Path, state: dict[str, Any], root: Path | None, stdin: str = "") -> None:
        self.host_dir = host_dir
        self.state = state
        self.root = root
        self.stdin = stdin
        self.out: list[str] = []
        self.err: list[str] = []
        self.now = now_ns()

    # -- small helpers ----------------------------------------------------------------------------

    def print(self, text: str = "") -> None:
        self.out.append(text + "\n")

    def eprint(self, text: str) -> None:
        self.err.append(text + "\n")

    @property
    def containers(self) -> dict[str, dict[str, Any]]:
        return self.state["containers"]  # type: ignore[no-any-return]

    @property
    def images(self) -> dict[str, dict[str, Any]]:
        return self.state["images"]  # type: ignore[no-any-return]

    def find_container(self, ref: str) -> dict[str, Any] | None:
        ref = ref.removeprefix("/")
        if not ref:
            return None
        if ref in self.containers:
            return self.containers[ref]
        for record in self.containers.values():
            if record["name"] == ref:
                return record
        matches = [r for r in self.containers.values() if r["id"].startswith(ref)]
        return matches[0] if len(matches) == 1 else None

    def container(self, ref: str) -> dict[str, Any]:
        record = self.find_container(ref)
        if record is None:
            raise daemon_error(f"No such container: {ref}")
        return record

    def find_image(self, ref: str) -> dict[str, Any] | None:
        if not ref:
            return None
        wanted = normalize_reference(ref)
        for image in self.images.values():
            if wanted in image.get("tags", []):
                return image
        hex_part = ref.removeprefix("sha256:")
        if re.fullmatch(r"[0-9a-f]{1,64}", hex_part):
            matches = [i for i in self.images.values() if i["id"].removeprefix("sha256:").startswith(hex_part)]
            if len(matches) == 1:
                return matches[0]
        return None

    def format_lines(self, template: str, items: Iterable[Any], headers: Mapping[str, str] | None = None) -> None:
        """`--format` of ps / image ls: `\\t` and `\\n` escapes, `table` prefix, one line per item."""
        is_table = template.startswith("table")
        body = template[5:] if is_table else template
        body = body.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
        lines = []
        for item in items:
            lines.append(self.render(body, item))
        if is_table:
            names = {**_HEADERS, **(headers or {})}
            header = re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: names.get(m.group(1), m.group(1).upper()), body)
            rows = [line.split("\t") for line in [header, *lines]]
            self.out.append(objects.table(rows))
        else:
            for line in lines:
                self.print(line)

    def render(self, template: str, dot: Any) -> str:
        try:
            return render(template, dot)
        except TemplateError as error:
            raise DockerExit(1, str(error)) from None

    # -- registry and logins --------------------------------------------------------------------------

    def docker_config_path(self) -> Path:
        return self.host_dir / ".docker" / "config.json"

    def logins(self) -> dict[str, str]:
        """server -> base64(user:password), as ~/.docker/config.json keeps them."""
        data = read_json(self.docker_config_path(), {"auths": {}})
        return {k: str(v.get("auth", "")) for k, v in data.get("auths", {}).items()}

    def registry(self) -> dict[str, Any]:
        if self.root is None:
            return dict(EMPTY_REGISTRY)
        return read_json(registry_file(self.root), EMPTY_REGISTRY)

    def registry_server_of(self, ref: str) -> tuple[str, str]:
        """(server, path): `10.0.0.1:5000/demo:v1` -> (`10.0.0.1:5000`, `demo`); Docker Hub when none."""
        name, _ = split_reference(ref)
        first, _, rest = name.partition("/")
        if rest and ("." in first or ":" in first or first == "localhost"):
            return first, rest
        return "docker.io", name if "/" in name else f"library/{name}"

    def check_registry_access(self, ref: str, action: str) -> dict[str, Any]:
        server, path = self.registry_server_of(ref)
        registry = self.registry()
        if server != registry.get("server"):
            host = "registry-1.docker.io" if server == "docker.io" else server.split(":")[0]
            raise daemon_error(
                f'Get "https://{host}/v2/": dial tcp: lookup {host}: no such host (the sandbox has no network)'
            )
        auth = self.logins().get(server)
        _, tag = split_reference(ref)
        if not auth or not self._auth_valid(auth, registry):
            if action == "pull":
                raise daemon_error(f'Head "http://{server}/v2/{path}/manifests/{tag}": no basic auth credentials')
            raise DockerExit(1, "unauthorized: authentication required")
        return registry

    @staticmethod
    def _auth_valid(auth: str, registry: Mapping[str, Any]) -> bool:
        try:
            user, _, password = base64.b64decode(auth).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return bool(registry.get("users", {}).get(user) == password)

    def pull(self, ref: str, *, quiet: bool = False, to_stderr: bool = False) -> dict[str, Any]:
        """Pull from the sandbox registry (progress on stderr when `docker run` pulls implicitly)."""
        if to_stderr:
            saved, self.out = self.out, self.err
            try:
                return self.pull(ref, quiet=quiet)
            finally:
                self.out = saved
        registry = self.check_registry_access(ref, "pull")
        wanted = normalize_reference(ref)
        manifest = registry.get("images", {}).get(wanted)
        _name, tag = split_reference(ref)
        if manifest is None:
            raise daemon_error(f"manifest for {wanted} not found: manifest unknown: manifest unknown")
        existing = self.find_image(wanted)
        if existing is not None and existing["id"] == manifest["id"]:
            if not quiet:
                self.print(f"{tag}: Pulling from {self.registry_server_of(ref)[1]}")
                self.print(f"Digest: {manifest['digest']}")
                self.print(f"Status: Image is up to date for {wanted}")
            return existing
        self.untag(wanted)
        image = self.images.get(manifest["id"])
        if image is None:
            image = {k: v for k, v in manifest.items() if k != "digest"}
            image["tags"] = []
            self.images[manifest["id"]] = image
        image["tags"] = sorted({*image.get("tags", []), wanted})
        if not quiet:
            self.print(f"{tag}: Pulling from {self.registry_server_of(ref)[1]}")
            self.print(f"{short_id(manifest['id'])}: Pull complete")
            self.print(f"Digest: {manifest['digest']}")
            self.print(f"Status: Downloaded newer image for {wanted}")
        return image

    def untag(self, ref: str) -> None:
        for image in self.images.values():
            if ref in image.get("tags", []):
                image["tags"] = [t for t in image["tags"] if t != ref]

    def image_in_use(self, image_id: str) -> list[dict[str, Any]]:
        return [c for c in self.containers.values() if c["image_id"] == image_id]

    # -- container life ------------------------------------------------------------------------------

    def append_log(self, record: dict[str, Any], line: str, stream: str = "stdout") -> None:
        record.setdefault("logs", []).append([now_ns(), stream, line])
        del record["logs"][:-500]

    def program(self, record: Mapping[str, Any]) -> dict[str, Any]:
        image = self.images.get(record["image_id"], {})
        programs: Mapping[str, Any] = image.get("programs", {})
        found = programs.get(objects.command_text(record), {})
        return dict(found) if isinstance(found, Mapping) else {}

    def expand(self, record: Mapping[str, Any], text: str) -> str:
        env = dict(e.partition("=")[::2] for e in record.get("env", []))
        return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), text)

    def start(self, record: dict[str, Any]) -> None:
        if record["status"] == "running":
            return
        network = record.get("network")
        if network and network not in ("bridge", "host", "none") and network not in self.state["networks"]:
            raise daemon_error(f"network {network} not found")
        record.update(
            status="running", started_at=now_ns(), finished_at=None, exit_code=0, pid=4000 + len(self.containers)
        )
        if self.is_proxy(record):
            self.append_log(record, started_line(now_ns()))
        for line in self.program(record).get("start", []):
            self.append_log(record, self.expand(record, line))

    def stop(self, record: dict[str, Any]) -> None:
        if record["status"] != "running":
            return
        if self.is_proxy(record):
            self.append_log(record, log_line("INFO", "Server stopped", now_ns()))
        for line in self.program(record).get("stop", []):
            self.append_log(record, self.expand(record, line))
        record.update(status="exited", finished_at=now_ns(), exit_code=0, pid=0)

    def is_proxy(self, record: Mapping[str, Any]) -> bool:
        image = self.images.get(record["image_id"], {})
        return bool(image.get("proxy")) and objects.command_text(record).startswith("kamal-proxy")

    def remove(self, record: Mapping[str, Any]) -> None:
        self.containers.pop(record["id"], None)

    # -- in-container commands ---------------------------------------------------------------------

    def run_in_container(self, record: dict[str, Any], argv: list[str]) -> tuple[int, str, str]:
        """What a command inside the container answers: the demo images' few, else docker's error."""
        if not argv:
            return 126, "", "OCI runtime exec failed: exec failed: no command given: unknown\n"
        image = self.images.get(record["image_id"], {})
        files: Mapping[str, str] = image.get("files", {})
        program, args = argv[0], argv[1:]
        base = PurePosixPath(program).name
        if base == "kamal-proxy" and image.get("proxy"):
            return self.proxy_command(record, args)
        if base in ("sh", "bash") and len(args) == 2 and args[0] == "-c":
            if re.search(r"[|&;<>()$`*?\\\[\]{}!]", args[1]):
                return 126, "", f"sandbox: cannot run shell code inside a container: {args[1]}\n"
            return self.run_in_container(record, shlex.split(args[1]))
        if base == "echo":
            return 0, " ".join(args) + "\n", ""
        if base == "true" or base == "sleep":
            return 0, "", ""
        if base == "false":
            return 1, "", ""
        if base == "hostname":
            return 0, (record.get("hostname") or record["id"][:12]) + "\n", ""
        if base in ("env", "printenv") and not args:
            return 0, "".join(e + "\n" for e in record.get("env", [])), ""
        if base == "cat":
            out: list[str] = []
            for path in args:
                if path not in files:
                    return 1, "".join(out), f"cat: can't open '{path}': No such file or directory\n"
                out.append(self.expand(record, files[path]))
            return 0, "".join(out), ""
        if base == "ls":
            directory = (args or ["/"])[-1].rstrip("/") + "/"
            names = sorted({p[len(directory) :].split("/")[0] for p in files if p.startswith(directory)})
            if not names:
                return 1, "", f"ls: {args[-1] if args else '/'}: No such file or directory\n"
            return 0, "".join(n + "\n" for n in names), ""
        return (
            127,
            "",
            f'OCI runtime exec failed: exec failed: unable to start container process: exec: "{program}": '
            "executable file not found in $PATH: unknown\n",
        )

    def proxy_command(self, record: dict[str, Any], args: list[str]) -> tuple[int, str, str]:
        volume = next(
            (
                v.split(":")[0]
                for v in record.get("volumes", [])
                if v.split(":")[1:2] == ["/home/kamal-proxy/.config/kamal-proxy"]
            ),
            None,
        )
        data: dict[str, Any]
        if volume is not None and volume in self.state["volumes"]:
            data = self.state["volumes"][volume].setdefault("data", {})
        else:
            data = record.setdefault("data", {})
        routes = ProxyRoutes(
            data,
            lambda level, message: self.append_log(record, log_line(level, message, now_ns())),
            lambda host, port, path: self.health(record, host, port, path),
        )
        return routes.run(args)

    def health(self, proxy: Mapping[str, Any], host: str, port: str, path: str) -> str | None:
        """Would `GET http://host:port/path` from the proxy answer 200? (the target's image decides)."""
        target = self.find_container(host) or next(
            (c for c in self.containers.values() if host in (c.get("ip"), c.get("hostname"))), None
        )
        if target is None or target["status"] != "running":
            return "no such running container"
        if target.get("network") != proxy.get("network"):
            return "not on the proxy's network"
        http = self.images.get(target["image_id"], {}).get("http") or {}
        if str(http.get("port")) != port:
            return "nothing listens on that port"
        if http.get("root", "/").rstrip("/") + path not in self.images[target["image_id"]].get("files", {}):
            return "404"
        return None


_HEADERS = {
    "ID": "CONTAINER ID",
    "Names": "NAMES",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "RunningFor": "CREATED",
    "CreatedAt": "CREATED AT",
    "CreatedSince": "CREATED",
    "Status": "STATUS",
    "Ports": "PORTS",
    "Repository": "REPOSITORY",
    "Tag": "TAG",
    "Size": "SIZE",
    "State": "STATE",
    "Labels": "LABELS",
}


# -- commands -------------------------------------------------------------------------------------------

Handler = Callable[[Engine, list[str]], int]
COMMANDS: dict[tuple[str, ...], Handler] = {}


def command(*paths: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for path in paths:
            COMMANDS[tuple(path.split())] = handler
        return handler

    return register


def _select_containers(engine: Engine, opts: Options, name: str) -> list[dict[str, Any]]:
    filters = _filters(name, opts.list("--filter"), PS_FILTERS, DOCKER_PS_FILTERS)
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
        if "label" in filters and not _label_matches(record.get("labels", {}), filters["label"]):
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


IMAGES_SPEC = {
    "--all|-a": "bool",
    "--filter|-f": "list",
    "--format": "value",
    "--no-trunc": "bool",
    "--quiet|-q": "bool",
    "--digests": "bool",
}


@command("images", "image ls", "image list")
def cmd_images(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options("image ls", argv, IMAGES_SPEC, max_args=1)
    filters = _filters(
        "image ls",
        opts.list("--filter"),
        {"label", "reference", "dangling"},
        {"label", "reference", "dangling", "before", "since", "until"},
    )
    references = filters.get("reference", []) + positional
    trunc = not opts.flag("--no-trunc")
    rows = []
    for image in sorted(engine.images.values(), key=lambda i: i["created"], reverse=True):
        if "label" in filters and not _label_matches(image.get("labels", {}), filters["label"]):
            continue
        dangling = not image.get("tags")
        if "dangling" in filters and (filters["dangling"][-1] == "true") != dangling:
            continue
        for repository, tag in objects.image_rows(image):
            if references and (dangling or not any(_reference_match(p, f"{repository}:{tag}") for p in references)):
                continue
            rows.append(objects.image_ls_row(image, repository, tag, engine.now, trunc))
    if opts.flag("--quiet") and opts.value("--format") is None:
        seen: list[str] = []
        for row in rows:
            if row["ID"] not in seen:
                seen.append(row["ID"])
                engine.print(row["ID"])
        return 0
    template = opts.value("--format") or "table {{.Repository}}\\t{{.Tag}}\\t{{.ID}}\\t{{.CreatedSince}}\\t{{.Size}}"
    engine.format_lines(template, rows, {"ID": "IMAGE ID", "CreatedSince": "CREATED"})
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
        env += _env_file_lines(engine.host_dir / path if not path.startswith("/") else Path(path), path)
    for item in opts.list("--env"):
        if "=" not in item:
            if item in os.environ:
                env.append(f"{item}={os.environ[item]}")
            continue
        env.append(item)
    labels = dict(image.get("labels", {}))
    for path in opts.list("--label-file"):
        labels.update(_labels_from(_env_file_lines(engine.host_dir / path, path)))
    labels.update(_labels_from(opts.list("--label")))
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
        "log_opts": _labels_from(opts.list("--log-opt")),
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
            obj = _network_struct(engine.state["networks"][ref])
        if obj is None and kind in (None, "volume") and ref in engine.state["volumes"]:
            obj = _volume_struct(engine.state["volumes"][ref])
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


@command("container prune")
def cmd_container_prune(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options("container prune", argv, {"--filter": "list", "--force|-f": "bool"}, max_args=0)
    if not opts.flag("--force"):
        raise unsupported("container prune without --force (it would ask for confirmation on a terminal)")
    filters = _filters("container prune", opts.list("--filter"), {"label"}, {"label", "until"})
    removed = [
        r
        for r in sorted(engine.containers.values(), key=lambda r: r["created"])
        if r["status"] not in ("running", "restarting", "paused")
        and _label_matches(r.get("labels", {}), filters.get("label", []))
    ]
    if removed:
        engine.print("Deleted Containers:")
        for record in removed:
            engine.remove(record)
            engine.print(record["id"])
        engine.print()
    engine.print("Total reclaimed space: 0B")
    return 0


@command("image prune")
def cmd_image_prune(engine: Engine, argv: list[str]) -> int:
    opts, _ = parse_options(
        "image prune", argv, {"--all|-a": "bool", "--filter": "list", "--force|-f": "bool"}, max_args=0
    )
    if not opts.flag("--force"):
        raise unsupported("image prune without --force (it would ask for confirmation on a terminal)")
    filters = _filters("image prune", opts.list("--filter"), {"label"}, {"label", "until"})
    deleted: list[str] = []
    reclaimed = 0
    for image in sorted(engine.images.values(), key=lambda i: i["created"]):
        if not _label_matches(image.get("labels", {}), filters.get("label", [])):
            continue
        if engine.image_in_use(image["id"]):
            continue
        if image.get("tags") and not opts.flag("--all"):
            continue
        deleted += [f"untagged: {t}" for t in sorted(image.get("tags", []))]
        deleted.append(f"deleted: {image['id']}")
        reclaimed += int(image.get("size", 0))
        del engine.images[image["id"]]
    if deleted:
        engine.print("Deleted Images:")
        for line in deleted:
            engine.print(line)
        engine.print()
    engine.print(f"Total reclaimed space: {objects.human_size(reclaimed)}")
    return 0


@command("rmi", "image rm", "image remove")
def cmd_rmi(engine: Engine, argv: list[str]) -> int:
    opts, refs = parse_options(
        "image rm", argv, {"--force|-f": "bool", "--no-prune": "bool"}, min_args=1, usage="[OPTIONS] IMAGE [IMAGE...]"
    )
    force = opts.flag("--force")
    failed = False
    for ref in refs:
        image = engine.find_image(ref)
        if image is None:
            if not force:
                engine.eprint(f"Error response from daemon: No such image: {ref}")
                failed = True
            continue
        by_tag = normalize_reference(ref) in image.get("tags", [])
        users = engine.image_in_use(image["id"])
        if by_tag and len(image["tags"]) > 1:
            engine.untag(normalize_reference(ref))
            engine.print(f"Untagged: {normalize_reference(ref)}")
            continue
        if users and not force:
            user = users[0]["id"][:12]
            what = f'repository reference "{ref}"' if by_tag else short_id(image["id"])
            engine.eprint(
                f"Error response from daemon: conflict: unable to remove {what} (must force) - "
                f"container {user} is using its referenced image {short_id(image['id'])}"
            )
            failed = True
            continue
        if any(u["status"] == "running" for u in users):
            engine.eprint(
                f"Error response from daemon: conflict: unable to delete {short_id(image['id'])} (cannot be forced) - "
                f"image is being used by running container {users[0]['id'][:12]}"
            )
            failed = True
            continue
        for tag in sorted(image.get("tags", [])):
            engine.print(f"Untagged: {tag}")
        image["tags"] = []
        if not users:
            del engine.images[image["id"]]
            engine.print(f"Deleted: {image['id']}")
    return 1 if failed else 0


@command("tag", "image tag")
def cmd_tag(engine: Engine, argv: list[str]) -> int:
    _, (source, target) = parse_options(
        "tag", argv, {}, min_args=2, max_args=2, usage="SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]"
    )
    image = engine.find_image(source)
    if image is None:
        raise daemon_error(f"No such image: {source}")
    wanted = normalize_reference(target)
    engine.untag(wanted)
    image["tags"] = sorted({*image.get("tags", []), wanted})
    return 0


@command("pull", "image pull")
def cmd_pull(engine: Engine, argv: list[str]) -> int:
    opts, (ref,) = parse_options(
        "pull",
        argv,
        {"--quiet|-q": "bool", "--platform": "value", "--all-tags|-a": "bool", "--disable-content-trust": "bool"},
        min_args=1,
        max_args=1,
        usage="[OPTIONS] NAME[:TAG|@DIGEST]",
    )
    if "@" in ref:
        raise unsupported(f"pulling by digest ({ref})")
    if opts.flag("--all-tags"):
        raise unsupported("--all-tags")
    engine.pull(ref, quiet=opts.flag("--quiet"))
    engine.print(normalize_reference(ref))
    return 0


def push_image(engine: Engine, ref: str, image: Mapping[str, Any]) -> str:
    """Put ``image`` in the sandbox registry under ``ref`` (after docker's access checks)."""
    engine.check_registry_access(ref, "push")
    assert engine.root is not None
    manifest = {k: v for k, v in image.items() if k not in ("tags",)}
    manifest["digest"] = "sha256:" + hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()
    with locked_json(registry_file(engine.root), EMPTY_REGISTRY) as registry:
        registry.setdefault("images", {})[normalize_reference(ref)] = manifest
    return str(manifest["digest"])


@command("push", "image push")
def cmd_push(engine: Engine, argv: list[str]) -> int:
    _opts, (ref,) = parse_options(
        "push",
        argv,
        {"--quiet|-q": "bool", "--all-tags|-a": "bool", "--platform": "value", "--disable-content-trust": "bool"},
        min_args=1,
        max_args=1,
        usage="[OPTIONS] NAME[:TAG]",
    )
    image = engine.find_image(normalize_reference(ref))
    if image is None:
        raise DockerExit(1, f"An image does not exist locally with the tag: {split_reference(ref)[0]}")
    name, tag = split_reference(ref)
    engine.print(f"The push refers to repository [{name}]")
    digest = push_image(engine, ref, image)
    engine.print(f"{short_id(image['id'])}: Pushed")
    engine.print(f"{tag}: digest: {digest} size: 527")
    return 0


@command("login")
def cmd_login(engine: Engine, argv: list[str]) -> int:
    opts, positional = parse_options(
        "login", argv, {"--username|-u": "value", "--password|-p": "value", "--password-stdin": "bool"}, max_args=1
    )
    server = positional[0] if positional else "docker.io"
    user = opts.value("--username")
    password = opts.value("--password")
    if opts.flag("--password-stdin"):
        if password is not None:
            raise DockerExit(1, "--password and --password-stdin are mutually exclusive")
        password = engine.stdin.rstrip("\n")
    elif password is not None:
        engine.eprint("WARNING! Using --password via the CLI is insecure. Use --password-stdin.")
    if not user or password is None:
        raise unsupported("interactive login (give --username and --password)")
    registry = engine.registry()
    if server != registry.get("server"):
        host = "registry-1.docker.io" if server in ("docker.io", "index.docker.io") else server.split(":")[0]
        raise daemon_error(
            f'Get "https://{host}/v2/": dial tcp: lookup {host}: no such host (the sandbox has no network)'
        )
    if registry.get("users", {}).get(user) != password:
        raise daemon_error(f"login attempt to http://{server}/v2/ failed with status: 401 Unauthorized")
    path = engine.docker_config_path()
    config = read_json(path, {"auths": {}})
    config.setdefault("auths", {})[server] = {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}
    write_json(path, config)
    path.chmod(0o600)
    engine.print("")
    engine.print(f"WARNING! Your credentials are stored unencrypted in '{path}'.")
    engine.print("Configure a credential helper to remove this warning. See")
    engine.print("https://docs.docker.com/go/credential-store/")
    engine.print("")
    engine.print("Login Succeeded")
    return 0


@command("logout")
def cmd_logout(engine: Engine, argv: list[str]) -> int:
    _, positional = parse_options("logout", argv, {}, max_args=1)
    server = positional[0] if positional else "docker.io"
    path = engine.docker_config_path()
    config = read_json(path, {"auths": {}})
    if server not in config.get("auths", {}):
        engine.print(f"Not logged in to {server}")
        return 0
    engine.print(f"Removing login credentials for {server}")
    del config["auths"][server]
    write_json(path, config)
    return 0


# -- networks and volumes -----------------------------------------------------------------------------


def _network_struct(network: Mapping[str, Any]) -> Struct:
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


def _volume_struct(volume: Mapping[str, Any]) -> Struct:
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
        "labels": _labels_from(opts.list("--label")),
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
    filters = _filters(
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
        name, {"name": name, "created": now_ns(), "labels": _labels_from(opts.list("--label"))}
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


# -- the engine itself --------------------------------------------------------------------------------


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


# -- builds: buildx and contexts (the operator machine, or a remote builder host) ---------------------


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
    build_args = _labels_from(opts.list("--build-arg"))
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
        "labels": {**base.get("labels", {}), **parsed["labels"], **_labels_from(opts.list("--label"))},
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


# -- entry point -------------------------------------------------------------------------------------


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
