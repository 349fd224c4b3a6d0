"""Where the notebooks' fleet is: the demo Kamal project on the real test fleet or on a sandbox fleet.

Every notebook in ``notebooks/`` starts with::

    from kamal_nb.testing.demo import prepare
    demo = prepare(backend)            # "real", "sandbox" or "auto"
    %cd {demo.project}                 # where config/deploy.yml is, so %kamal finds it

- ``real``: the test fleet recorded in ``fleet.json`` under ``fleet_base`` (else
  ``$KAMAL_NB_FLEET_BASE``, else the first ``.fleet/`` found from the working directory upwards;
  ``./dev fleet up 3`` makes one). The demo project (``kamal_nb.testing.project.write_project``:
  web on the first two hosts behind the kamal-proxy stand-in, jobs on the third) is written to
  ``project_dir`` (default ``<fleet base>/demo-project``). Commands go over SSH.
- ``sandbox``: the sandbox fleet at ``sandbox_dir`` (else ``$KAMAL_NB_SANDBOX_DIR``, else
  ``~/.kamal-nb-sandbox``), created when missing (``python -m kamal_nb.sandbox init``); its demo
  project is the same deploy.yml aimed at local-directory hosts. Binder's ``start`` selects it.
- ``auto``: the sandbox when ``$KAMAL_NB_BACKEND`` is ``sandbox``, else the real fleet when one is
  recorded, else the sandbox. It works on a fresh machine.

``prepare`` sets ``KAMAL_NB_BACKEND`` (and ``KAMAL_NB_SANDBOX_DIR``) in this process, so every
``%kamal`` of the kernel uses the chosen fleet. ``demo.via_proxy(host, "/version")`` answers what
kamal-proxy serves on a host (an HTTP GET on the real fleet; on the sandbox, the file the proxy's
current target container serves, as the sandbox has no HTTP). Secrets are never returned or printed.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

BACKENDS = ("auto", "real", "sandbox")
SYSTEMS = ("demo", "tutorial")
FLEET_FILE = "fleet.json"


class DemoError(RuntimeError):
    """The chosen fleet is not there; the message says how to make it."""


@dataclass(frozen=True)
class Demo:
    backend: str  # "real" or "sandbox"
    project: Path  # the Kamal project: config/deploy.yml, .kamal/secrets
    hosts: tuple[str, ...]
    web_hosts: tuple[str, ...]  # behind kamal-proxy
    sandbox_dir: Path | None = None
    system: str = "demo"  # "demo": the busybox app; "tutorial": the app on MySQL and Redis

    @property
    def secrets_file(self) -> Path:
        return self.project / ".kamal" / "secrets"

    def via_proxy(self, host: str, path: str = "/version", timeout: float = 10.0) -> str:
        """What kamal-proxy on ``host`` answers for ``path`` (the body; raises when it cannot answer)."""
        if self.backend == "real":
            with urllib.request.urlopen(f"http://{host}{path}", timeout=timeout) as response:
                return str(response.read().decode())
        return self._sandbox_proxy_get(host, path, timeout)

    def _sandbox_proxy_get(self, host: str, path: str, timeout: float) -> str:
        from kamal_nb.sandbox.layout import Layout
        from kamal_nb.sandbox.pool import host_environment

        assert self.sandbox_dir is not None
        layout = Layout(self.sandbox_dir)
        env = host_environment(layout, host, layout.host_dir(host))

        def docker(*args: str) -> str:
            done = subprocess.run(
                ["docker", *args],
                cwd=env["HOME"],
                env=env,
                capture_output=True,
                text=True,
                timeout=timeout,
                check=False,
            )
            if done.returncode != 0:
                raise DemoError(f"{host}: docker {shlex.join(args)}: {done.stderr.strip()}")
            return done.stdout

        routes = docker("exec", "kamal-proxy", "kamal-proxy", "list").splitlines()[1:]
        targets = [line.split()[3] for line in routes if len(line.split()) >= 5 and line.split()[4] == "running"]
        if not targets:
            raise DemoError(f"{host}: kamal-proxy has no running route (502)")
        container = targets[0].rsplit(":", 1)[0]
        return docker("exec", container, "cat", "/www" + (path if path != "/" else "/index.html"))


def find_fleet_base(start: Path | None = None) -> Path | None:
    """$KAMAL_NB_FLEET_BASE, else the nearest ``.fleet`` with a fleet.json from ``start`` upwards."""
    if os.environ.get("KAMAL_NB_FLEET_BASE"):
        return Path(os.environ["KAMAL_NB_FLEET_BASE"])
    here = (start or Path.cwd()).resolve()
    for directory in (here, *here.parents):
        if (directory / ".fleet" / FLEET_FILE).is_file():
            return directory / ".fleet"
    return None


def prepare(
    backend: str = "auto",
    *,
    fleet_base: Path | str | None = None,
    sandbox_dir: Path | str | None = None,
    project_dir: Path | str | None = None,
    system: str = "demo",
) -> Demo:
    """The demo project on the chosen fleet, ready for ``%kamal`` (see the module's text).

    ``system="tutorial"``: the Kamal tutorial's app on MySQL and Redis (``kamal_nb.testing.tutorial``)
    instead of the busybox demo app; real fleet only, its images built (or found) in the fleet's
    registry first (``kamal_nb.testing.images.tutorial``; a few minutes the first time).
    """
    backend = (backend or "auto").lower()
    if backend not in BACKENDS:
        raise DemoError(f"backend {backend!r}: choose one of {', '.join(BACKENDS)}")
    if system not in SYSTEMS:
        raise DemoError(f"system {system!r}: choose one of {', '.join(SYSTEMS)}")
    if backend == "auto":
        if fleet_base is None and os.environ.get("KAMAL_NB_BACKEND") == "sandbox":
            backend = "sandbox"
        else:
            base = Path(fleet_base) if fleet_base else find_fleet_base()
            backend = "real" if base is not None and (base / FLEET_FILE).is_file() else "sandbox"
    if backend == "real":
        return _real(fleet_base, project_dir, system)
    if system == "tutorial":
        raise DemoError("the tutorial system (MySQL and Redis) needs the real test fleet: backend='real'")
    return _sandbox(sandbox_dir)


def _real(fleet_base: Path | str | None, project_dir: Path | str | None, system: str = "demo") -> Demo:
    from kamal_nb.testing.fleet import FleetInfo
    from kamal_nb.testing.project import write_project

    base = Path(fleet_base) if fleet_base else find_fleet_base()
    if base is None or not (base / FLEET_FILE).is_file():
        raise DemoError(
            f"no running test fleet ({base or '.fleet'}/{FLEET_FILE} is missing): start one as root with "
            "`./dev fleet up 3`, or use the sandbox: prepare('sandbox')"
        )
    info = FleetInfo.load(base)
    project = Path(project_dir) if project_dir else base / f"{system}-project"
    project.mkdir(parents=True, exist_ok=True)
    if system == "tutorial":
        from kamal_nb.testing.images.tutorial import provide_tutorial_images
        from kamal_nb.testing.tutorial import write_tutorial_project

        provide_tutorial_images(info)
        if not (project / "config" / "deploy.yml").is_file():
            write_tutorial_project(project, info)
    elif not (project / "config" / "deploy.yml").is_file():
        write_project(project, info)
    os.environ["KAMAL_NB_BACKEND"] = "ssh"
    hosts = tuple(info.host_ips)
    return Demo("real", project.resolve(), hosts, hosts[:2], system=system)


def _sandbox(sandbox_dir: Path | str | None) -> Demo:
    from kamal_nb.sandbox.fleet import create_sandbox, load_sandbox
    from kamal_nb.sandbox.layout import Layout

    root = Path(sandbox_dir or os.environ.get("KAMAL_NB_SANDBOX_DIR") or Path.home() / ".kamal-nb-sandbox")
    info = load_sandbox(root) if Layout(root).exists() else create_sandbox(root, hosts=3)
    os.environ["KAMAL_NB_BACKEND"] = "sandbox"
    os.environ["KAMAL_NB_SANDBOX_DIR"] = str(info.root)
    return Demo("sandbox", info.project, info.hosts, info.hosts[:2], sandbox_dir=info.root)


# -- running the notebooks headless (the tests and `./dev demo`) -----------------------------------------

NOTEBOOKS = Path(__file__).resolve().parent.parent.parent / "notebooks"
INJECTED = "injected-parameters"


def _nbformat() -> Any:
    """nbformat (untyped), imported when a notebook is run: the test extra installs it."""
    import importlib

    return importlib.import_module("nbformat")


def inject_parameters(nb: Any, parameters: Mapping[str, object]) -> None:
    """As papermill does: a cell tagged ``injected-parameters`` right after the ``parameters`` cell."""
    nbformat = _nbformat()
    if not parameters:
        return
    index = next(
        (i for i, cell in enumerate(nb.cells) if "parameters" in cell.get("metadata", {}).get("tags", [])), None
    )
    if index is None:
        raise DemoError("the notebook has no cell tagged `parameters`")
    source = "# Parameters\n" + "".join(f"{name} = {value!r}\n" for name, value in parameters.items())
    cell = nbformat.v4.new_code_cell(source)
    cell.metadata["tags"] = [INJECTED]
    nb.cells.insert(index + 1, cell)


def execute(
    path: Path | str,
    parameters: Mapping[str, object] | None = None,
    *,
    timeout: float = 600,
    cwd: Path | str | None = None,
    allow_errors: bool = False,
    kernel_log: Path | None = None,
) -> Any:
    """Run a notebook in a fresh kernel (nbclient) and return it executed, widget state included.

    A failing cell raises nbclient's CellExecutionError unless ``allow_errors``; the error's
    ``notebook`` attribute is the notebook executed up to the failure, its outputs included.
    ``kernel_log``: the kernel process's own stderr is appended there instead of the terminal's.
    """
    from nbclient import NotebookClient

    nbformat = _nbformat()

    nb = nbformat.read(str(path), as_version=4)
    inject_parameters(nb, parameters or {})
    client = NotebookClient(
        nb,
        timeout=int(timeout),
        kernel_name="python3",
        allow_errors=allow_errors,
        store_widget_state=True,
        resources={"metadata": {"path": str(cwd or Path(path).resolve().parent)}},
    )
    try:
        if kernel_log is None:
            client.execute()
        else:
            with kernel_log.open("a") as log:
                client.execute(stderr=log)
    except Exception as error:
        error.notebook = nb  # type: ignore[attr-defined]
        raise
    return nb


def write_outputs(nb: Any, out_dir: Path, name: str) -> tuple[Path, Path]:
    """The executed notebook and its HTML (nbconvert), in ``out_dir``."""
    import importlib

    nbformat = _nbformat()
    exporter: Any = importlib.import_module("nbconvert").HTMLExporter()

    out_dir.mkdir(parents=True, exist_ok=True)
    ipynb, page = out_dir / f"{name}.ipynb", out_dir / f"{name}.html"
    nbformat.write(nb, str(ipynb))
    body, _ = exporter.from_notebook_node(nb)
    page.write_text(body)
    return ipynb, page


def secret_values(project: Path) -> list[str]:
    """The values in a project's .kamal/secrets files (to check that none leaked; never print them)."""
    values = []
    for file in sorted((project / ".kamal").glob("secrets*")):
        for line in file.read_text().splitlines():
            if "=" in line and not line.lstrip().startswith("#"):
                value = line.split("=", 1)[1].strip().strip("\"'")
                if len(value) >= 4:
                    values.append(value)
    return values


def leaks(nb: Any, values: Sequence[str]) -> list[str]:
    """Where any of ``values`` appears in the notebook (sources, outputs, widget state): cell indexes
    or ``metadata``; the values themselves are never part of the answer."""
    import json

    found = []
    for index, cell in enumerate(nb.cells):
        text = json.dumps(cell)
        if any(value in text for value in values):
            found.append(f"cell {index}")
    if any(value in json.dumps(nb.metadata) for value in values):
        found.append("metadata (widget state)")
    return found


def _run(args: argparse.Namespace) -> int:
    import shutil
    import tempfile

    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    parameters: dict[str, object] = {"backend": args.backend, "confirm": True}
    if args.backend == "real":
        project = out / "demo-project"
        shutil.rmtree(project, ignore_errors=True)
        parameters |= {"fleet_base": str(Path(args.fleet_base).resolve()), "project_dir": str(project)}
    else:
        sandbox = Path(args.sandbox_dir or tempfile.mkdtemp(prefix="kamal-nb-sandbox-"))
        if (sandbox / "sandbox.json").exists():
            shutil.rmtree(sandbox)
        os.environ["KAMAL_NB_SANDBOX_DIR"] = str(sandbox)
    status = 0
    for name in args.notebooks:
        from nbclient.exceptions import CellExecutionError

        started = time.monotonic()
        try:
            nb = execute(NOTEBOOKS / f"{name}.ipynb", parameters, timeout=args.timeout)
            verdict = "ok"
        except CellExecutionError as error:
            nb = error.notebook  # type: ignore[attr-defined]  # its outputs up to the failing cell
            verdict, status = f"FAILED ({str(error).strip().splitlines()[-1][:200]})", 1
        ipynb, page = write_outputs(nb, out, name)
        print(f"{name}: {verdict} in {time.monotonic() - started:.1f}s -> {ipynb} and {page}")
    return status


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kamal_nb.testing.demo", description="Run the notebooks headless against the demo fleet"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="execute notebooks (confirm=True) and write them with their HTML")
    run.add_argument("notebooks", nargs="+", help="names in notebooks/, without .ipynb")
    run.add_argument("--backend", choices=("real", "sandbox"), required=True)
    run.add_argument("--fleet-base", default=".fleet", help="the real fleet's folder (fleet.json)")
    run.add_argument("--sandbox-dir", help="where to create the sandbox fleet (default: a new temporary folder)")
    run.add_argument("--out", default="artifacts", help="where the executed notebooks and HTML go")
    run.add_argument("--timeout", type=float, default=600, help="seconds a cell may run")
    args = parser.parse_args(argv)
    return _run(args)


if __name__ == "__main__":
    sys.exit(main())
