"""The quickstart in a real JupyterLab, in a real browser: JupyterLab on 127.0.0.1 (no token, its own
settings: no news, no update checks), Debian's chromium driven by Playwright's Python package (never
`playwright install`: no browser is downloaded), the notebook run with "Run All" against a sandbox fleet.

It checks what a user sees: every cell ran without an error, the fleet table (the servers DataFrame) is
on the page, and so is the live per-host view (a tab per host, each an Output widget with the host's
step lines). Screenshots go to artifacts/ (gitignored), kept by CI as the test's artifacts.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.sandbox.backend import sandbox_backend
from kamal_nb.sandbox.fleet import DEMO_SECRET, REGISTRY_PASSWORD, create_sandbox
from kamal_nb.testing import demo

pytestmark = pytest.mark.browser

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


def _missing() -> str | None:
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is missing (apt-get install chromium; ./dev installs it as root)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright package is missing (the test extra has it)"
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _settings(directory: Path) -> None:
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


def _deploy_v1(project: Path, sandbox_dir: Path) -> None:
    from kamal_nb import cli_tree
    from kamal_nb.ops import catalog
    from kamal_nb.ops.session import Session

    session = Session(root=project, backend=sandbox_backend(sandbox_dir))
    try:
        invocation = cli_tree.parse(["deploy", "-P", "--version", "v1"])
        ctx = session.context(invocation.options({"config_file": "config/deploy.yml", "destination": None}))
        result = catalog.perform(ctx, invocation.path, dict(invocation.args), yes=True)
        assert getattr(result, "ok", False), str(result)
    finally:
        session.close()


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    missing = _missing()
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(missing + " (CI=true: the browser test must run)")
        pytest.skip(missing)
    root = tmp_path_factory.mktemp("lab")
    work = root / "notebooks"
    work.mkdir()
    shutil.copy(demo.NOTEBOOKS / "quickstart.ipynb", work)  # JupyterLab saves into its copy, not the repo's
    sandbox = create_sandbox(root / "sandbox", hosts=3)
    _deploy_v1(sandbox.project, sandbox.root)  # a fleet that runs something, to show
    _settings(root / "settings")
    env = {
        **os.environ,
        "KAMAL_NB_BACKEND": "sandbox",
        "KAMAL_NB_SANDBOX_DIR": str(sandbox.root),
        "JUPYTER_CONFIG_DIR": str(root / "config"),
        "JUPYTER_RUNTIME_DIR": str(root / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(root / "settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / "workspaces"),
        "IPYTHONDIR": str(root / "ipython"),
    }
    port = _free_port()
    log = (root / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            f"--ServerApp.root_dir={work}",
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("JupyterLab did not start:\n" + (root / "lab.log").read_text()[-3000:])
                time.sleep(0.3)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_quickstart_runs_all_cells_in_jupyterlab(lab: str) -> None:
    from playwright.sync_api import expect, sync_playwright

    url = lab
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(60_000)
            page.goto(f"{url}/lab/tree/quickstart.ipynb")
            page.locator(".jp-Notebook .jp-Cell").first.wait_for()
            # the kernel is up when the toolbar's kernel status says idle
            page.wait_for_function("() => window.jupyterapp && window.jupyterapp.shell.currentWidget"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel"
                                   " && window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
                                   " === 'idle'")  # fmt: skip
            page.evaluate("() => window.jupyterapp.commands.execute('notebook:run-all-cells')")
            code_cells = page.locator(".jp-Notebook .jp-CodeCell")
            count = code_cells.count()
            assert count >= 6
            # every code cell gets an execution count ("[n]:"), the last one included
            page.wait_for_function(
                """(n) => {
                    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')];
                    return prompts.length === n && prompts.every(p => /\\[\\d+\\]/.test(p.textContent));
                }""",
                arg=count,
                timeout=180_000,
            )
            tracebacks = page.locator(".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']")
            tracebacks = tracebacks.filter(has_text="Traceback")
            assert tracebacks.count() == 0, tracebacks.first.inner_text()

            # the per-host live view of `%kamal details` (the first one): a tab per host, each an Output widget
            view = page.locator(".jupyter-widgets.widget-tab").first
            tabs = view.locator(".lm-TabBar-tab")
            expect(tabs).to_have_count(3)
            titles = [tabs.nth(i).inner_text() for i in range(3)]
            assert all(any(host in title for title in titles) for host in HOSTS), titles
            output = view.locator(".widget-output").first
            # each host's tab has its step lines (what ran, the exit, how long); the output is in the result
            expect(output).to_contain_text("docker ps")
            expect(output).to_contain_text("ok")
            tabs.nth(0).scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-quickstart-details.png"))

            # the fleet table: the servers DataFrame, a row per host
            table = page.locator(".jp-OutputArea-output table.dataframe").last
            expect(table).to_be_visible()
            rows = table.locator("tbody tr")
            expect(rows).to_have_count(3)
            assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == list(HOSTS)
            table.scroll_into_view_if_needed()
            page.screenshot(path=str(ARTIFACTS / "browser-quickstart-fleet.png"))
            page_text = page.locator(".jp-Notebook").inner_text()
            assert DEMO_SECRET not in page_text and REGISTRY_PASSWORD not in page_text
            assert "demo-web-v1" in page_text  # `details`: the app container on each host
        finally:
            browser.close()
    assert (ARTIFACTS / "browser-quickstart-fleet.png").stat().st_size > 10_000
