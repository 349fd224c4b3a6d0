"""The state of one sandbox host's docker engine for one docker invocation (containers, images,
networks, volumes, builders, kept in the host's ``.sandbox/docker.json``) and its output; and how
command modules register their handlers.
"""

from __future__ import annotations

import base64
import binascii
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from kamal_nb.sandbox import objects
from kamal_nb.sandbox.docker.args import DockerExit, daemon_error
from kamal_nb.sandbox.gotemplate import TemplateError, render
from kamal_nb.sandbox.layout import (
    EMPTY_REGISTRY,
    read_json,
    registry_file,
)
from kamal_nb.sandbox.objects import normalize_reference, now_ns, short_id, split_reference
from kamal_nb.sandbox.proxy import ProxyRoutes, log_line, started_line


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


Handler = Callable[[Engine, list[str]], int]


def registrar(table: dict[tuple[str, ...], Handler]) -> Callable[..., Callable[[Handler], Handler]]:
    """A decorator that files a handler in ``table`` under each of its command paths
    (``@command("ps", "container ls")``); the emulator's entry point merges the modules' tables."""

    def command(*paths: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            for path in paths:
                table[tuple(path.split())] = handler
            return handler

        return register

    return command
