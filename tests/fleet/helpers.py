"""What the fleet tests share: operations run as a notebook cell runs them (confirmed), the real
Kamal asked to succeed, and what the proxy serves."""

from __future__ import annotations

import os
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.engine.result import OperationResult
from kamal_nb.ops import catalog
from kamal_nb.ops.options import GlobalOptions
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo, missing_requirements
from kamal_nb.testing.project import real_kamal, write_project


def require_fleet() -> None:
    """Skip where the real test fleet cannot run (no root, no namespaces...); under CI=true fail."""
    reasons = missing_requirements()
    if reasons:
        message = "the real test fleet cannot run here: " + "; ".join(reasons)
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (CI=true: fleet tests must run, not skip)")
        pytest.skip(message)


def perform(
    session: Session, path: tuple[str, ...], args: dict[str, object] | None = None, yes: bool = True, **options: Any
) -> Any:
    """The operation's result (or its plan, with yes=False), under these global options."""
    return catalog.perform(session.context(GlobalOptions(**options)), path, args or {}, yes=yes)


def run(
    session: Session, path: tuple[str, ...], args: dict[str, object] | None = None, **options: Any
) -> OperationResult:
    result = perform(session, path, args, **options)
    assert isinstance(result, OperationResult)
    return result


def kamal_ok(project: Path, *args: str) -> str:
    """Run the real Kamal in `project`; it must succeed. Its output."""
    done = real_kamal(project, *args)
    assert done.returncode == 0, f"kamal {' '.join(args)}:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


def set_up_with_kamal(
    fleet_control: Fleet,
    fleet: FleetInfo,
    directory: Path,
    config: Mapping[str, object] | None = None,
    secrets: Mapping[str, str] | None = None,
    version: str = "v1",
) -> Path:
    """Clean hosts, then the demo project (or `config`) written to `directory` and set up at
    `version` by the real Kamal."""
    fleet_control.reset_hosts()
    project = write_project(directory, fleet, config, secrets)
    kamal_ok(project, "setup", "-P", "--version", version)
    return project


def version_of(ip: str) -> str:
    """What the proxy on `ip` serves at GET /version (raises when nothing answers)."""
    with urllib.request.urlopen(f"http://{ip}/version", timeout=5) as response:
        return str(response.read().decode()).strip()


def running(fleet: FleetInfo, host_index: int) -> list[str]:
    """The demo app's running containers on a host, asked of its engine (bypassing SSH)."""
    import docker

    client = docker.DockerClient(base_url=fleet.hosts[host_index].docker_socket, timeout=30)
    try:
        return sorted(str(c.name) for c in client.containers.list() if c.labels.get("service") == "demo")
    finally:
        client.close()


@contextmanager
def kamal_shell(widgets: str) -> Iterator[Any]:
    """The in-process IPython shell with kamal_nb freshly loaded (its %config reset) and `widgets`
    set ("on" or "off"); unloaded afterwards. The caller chdirs into the project first."""
    from IPython.core.interactiveshell import InteractiveShell

    shell: Any = InteractiveShell.instance()
    shell.config.pop("KamalMagics", None)
    if "kamal_nb" in shell.extension_manager.loaded:
        shell.run_line_magic("reload_ext", "kamal_nb")
    else:
        shell.run_line_magic("load_ext", "kamal_nb")
    shell.run_line_magic("config", f"KamalMagics.widgets = '{widgets}'")
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "kamal_nb")
        shell.config.pop("KamalMagics", None)
