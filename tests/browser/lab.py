"""What the browser tests share: a JupyterLab server on 127.0.0.1 (no token, its own settings and
directories, nothing in the user's home), Debian's chromium driven by Playwright (never
`playwright install`), and bounded waits on the page: a notebook's kernel idle, Run All finished,
the kernels shut down at the end.

Every wait here has a bound: a page wait takes a timeout, the server and its kernels are stopped by
their PIDs (the kernels through the server's API first), so that a cell that never ends cannot hang
the test run.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
HOSTS = ("10.200.0.11", "10.200.0.12", "10.200.0.13")

_KERNEL = "window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"


def missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; ./dev installs it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (the test extra has it)"
    return None


def require_browser() -> None:
    """Skip (or fail on CI, where the browser tests must run) when chromium or playwright is missing."""
    reason = missing()
    if reason:
        if os.environ.get("CI") == "true":
            pytest.fail(reason + " (CI=true: the browser test must run)")
        pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_settings(directory: Path) -> None:
    """JupyterLab user settings: every cell kept in the page, no news or update checks."""
    files = {
        "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false",
            "checkForUpdates": False,
        },
    }
    for name, content in files.items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(json.dumps(content))


def _api(url: str, method: str = "GET") -> Any:
    request = urllib.request.Request(url, method=method)
    with urllib.request.urlopen(request, timeout=10) as answer:
        body = answer.read()
    return json.loads(body) if body else None


def kernel_pids(root: Path) -> list[int]:
    """The PIDs of the kernels this server started (their connection files are in its runtime dir)."""
    pids = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"ipykernel_launcher" in b" ".join(cmdline) and any(str(root).encode() in part for part in cmdline):
            pids.append(int(proc.name))
    return pids


def processes_with(marker: str) -> list[str]:
    """The command lines of the running processes that contain ``marker`` (this test's own ones)."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            found.append(f"{proc.name}: {cmdline.strip()}")
    return found


@contextmanager
def jupyterlab(root: Path, notebooks: Path, sandbox_dir: Path) -> Iterator[str]:
    """A JupyterLab server serving ``notebooks``, its kernels on the sandbox fleet; its URL."""
    write_settings(root / "settings")
    env = {
        **os.environ,
        "KAMAL_NB_BACKEND": "sandbox",
        "KAMAL_NB_SANDBOX_DIR": str(sandbox_dir),
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTER_DATA_DIR": str(root / "data"),  # the notebook-signing key, not in the user's home
        "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "IPYTHONDIR": str(root / "ipython"),
    }
    port = free_port()
    log_path = root / "lab.log"
    log = log_path.open("w")
    server = subprocess.Popen(
        [
            sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}", "--ServerApp.port_retries=0", "--IdentityProvider.token=",
            "--ServerApp.password=", f"--ServerApp.root_dir={notebooks}", "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # a kernel's shutdown is bounded too (a cell that does not end on SIGINT is killed)
            "--KernelManager.shutdown_wait_time=5",
            "--ServerApp.disable_check_xsrf=True",  # the test shuts kernels down through the API (loopback only)
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                _api(f"{url}/api/status")
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + log_path.read_text()[-3000:])
                time.sleep(0.3)
        yield url
    finally:
        with suppress(OSError):  # the kernels first, through the server (each bounded by shutdown_wait_time)
            shutdown_kernels(url)
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
        for pid in kernel_pids(root / "runtime"):  # a kernel the server left behind: ours, by PID
            with suppress(ProcessLookupError):
                os.kill(pid, 9)
        log.close()


@contextmanager
def chromium_page() -> Iterator[Any]:
    """A page in Debian's chromium (headless), every wait on it bounded by a default timeout."""
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS, timeout=60_000)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            yield page
        finally:
            browser.close()


def open_notebook(page: Any, url: str, name: str) -> None:
    """Open a notebook and wait (bounded) until its kernel is idle."""
    page.goto(f"{url}/lab/tree/{name}?reset")  # this notebook alone (no tab restored, no other kernel)
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.wait_for_function(
        f"() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
        f" && window.jupyterapp.shell.currentWidget.sessionContext"
        f" && window.jupyterapp.shell.currentWidget.sessionContext.session"
        f" && {_KERNEL} && {_KERNEL}.status === 'idle'",
        timeout=90_000,
    )


def run_all(page: Any) -> None:
    """Start Run All, without waiting for it: the command's promise settles only when every cell has
    run, and page.evaluate (which has no timeout) would wait for it (a cell that runs until its Stop
    button is clicked in the page then never ends: the draft of the live test hung here)."""
    page.evaluate("() => { window.jupyterapp.commands.execute('notebook:run-all-cells'); }")


def wait_all_ran(page: Any, timeout_ms: int) -> int:
    """Wait until every code cell has an execution count ("[n]:"); the number of code cells."""
    count = int(page.locator(".jp-Notebook .jp-CodeCell").count())
    page.wait_for_function(
        """(n) => {
            const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
            return prompts.length === n && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
        }""",
        arg=count,
        timeout=timeout_ms,
    )
    return count


def error_outputs(page: Any) -> list[str]:
    """The text of every error output on the page (a traceback, or an error a cell raised)."""
    errors = page.locator(
        ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']", has_text="Traceback"
    )
    return [errors.nth(i).inner_text()[:2000] for i in range(errors.count())]


def shutdown_kernels(url: str) -> None:
    """Shut down every kernel of the server (each bounded by its shutdown_wait_time)."""
    for kernel in _api(f"{url}/api/kernels"):
        _api(f"{url}/api/kernels/{kernel['id']}", method="DELETE")


def deploy(project: Path, sandbox_dir: Path, version: str = "v1") -> None:
    """`kamal deploy -P --version VERSION` on the sandbox fleet, from the test (not the page)."""
    from kamal_nb import cli_tree
    from kamal_nb.ops import catalog
    from kamal_nb.ops.session import Session
    from kamal_nb.sandbox.backend import sandbox_backend

    session = Session(root=project, backend=sandbox_backend(sandbox_dir))
    try:
        invocation = cli_tree.parse(["deploy", "-P", "--version", version])
        ctx = session.context(invocation.options({"config_file": "config/deploy.yml", "destination": None}))
        result = catalog.perform(ctx, invocation.path, dict(invocation.args), yes=True)
        assert getattr(result, "ok", False), str(result)
    finally:
        session.close()
