"""The build step on a sandbox fleet: "build" the image from its Dockerfile and push it to the sandbox
registry, as `docker buildx build --output=type=registry` does on the operator machine.

    result = build_and_push(sandbox_dir, dockerfile_text, tags=["10.200.0.1:5000/demo:v3", ...],
                            labels={"service": "demo"}, username="testuser", password="testpass")

Nothing runs: the image's labels, env, ports and command come from the Dockerfile (and its FROM image
in the sandbox registry); ``# sandbox-file PATH TEXT`` comments add files its demo server serves.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from kamal_nb.sandbox.docker_emulator import execute
from kamal_nb.sandbox.layout import Layout


@dataclass(frozen=True)
class BuildResult:
    exit_code: int
    output: str  # the build log (what buildx prints on stderr), login output first

    @property
    def ok(self) -> bool:
        return self.exit_code == 0


def build_and_push(
    root: Path | str,
    dockerfile: str,
    *,
    tags: Sequence[str],
    labels: Mapping[str, str] | None = None,
    build_args: Mapping[str, str] | None = None,
    username: str,
    password: str,
    platform: str = "linux/amd64",
) -> BuildResult:
    layout = Layout(root)
    layout.config()  # a sandbox fleet must be there
    server = tags[0].split("/")[0] if tags and "/" in tags[0] else ""
    local = layout.local_dir
    code, out, err = execute(["login", server, "-u", username, "--password-stdin"], local, layout.root, password)
    log = out + err
    if code != 0:
        return BuildResult(code, log)
    with tempfile.TemporaryDirectory(prefix="kamal-nb-sandbox-build-") as context:
        path = Path(context) / "Dockerfile"
        path.write_text(dockerfile)
        argv = ["buildx", "build", "--output=type=registry", "--platform", platform]
        for tag in tags:
            argv += ["-t", tag]
        for key, value in (labels or {}).items():
            argv += ["--label", f"{key}={value}"]
        for key, value in (build_args or {}).items():
            argv += ["--build-arg", f"{key}={value}"]
        argv += ["--file", str(path), context]
        code, out, err = execute(argv, local, layout.root)
    return BuildResult(code, log + out + err)
