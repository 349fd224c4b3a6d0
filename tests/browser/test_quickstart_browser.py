"""The quickstart in a real JupyterLab, in a real browser: JupyterLab on 127.0.0.1 (no token, its own
settings: no news, no update checks), Debian's chromium driven by Playwright's Python package (never
`playwright install`: no browser is downloaded), the notebook run with "Run All" against a sandbox fleet.

It checks what a user sees: every cell ran without an error, the fleet table (the servers DataFrame) is
on the page, and so is the live per-host view (a tab per host, each an Output widget with the host's
step lines). Screenshots go to artifacts/ (gitignored), kept by CI as the test's artifacts.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest

from kamal_nb.sandbox.fleet import DEMO_SECRET, REGISTRY_PASSWORD, create_sandbox
from kamal_nb.testing import demo
from tests.browser.lab import (
    ARTIFACTS,
    HOSTS,
    chromium_page,
    deploy,
    error_outputs,
    jupyterlab,
    open_notebook,
    require_browser,
    run_all,
    wait_all_ran,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    require_browser()
    root = tmp_path_factory.mktemp("lab")
    work = root / "notebooks"
    work.mkdir()
    shutil.copy(demo.NOTEBOOKS / "quickstart.ipynb", work)  # JupyterLab saves into its copy, not the repo's
    sandbox = create_sandbox(root / "sandbox", hosts=3)
    deploy(sandbox.project, sandbox.root)  # a fleet that runs something, to show
    with jupyterlab(root, work, sandbox.root) as url:
        yield url


def test_quickstart_runs_all_cells_in_jupyterlab(lab: str) -> None:
    from playwright.sync_api import expect

    with chromium_page() as page:
        open_notebook(page, lab, "quickstart.ipynb")
        run_all(page)
        count = wait_all_ran(page, 180_000)
        assert count >= 6
        assert error_outputs(page) == []

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

        # the fleet table: the servers table (the last cell's output), a row per host in the config's order
        table = page.locator(".jp-OutputArea-output table.kamal-nb-state").last
        expect(table).to_be_visible()
        rows = table.locator("tbody tr")
        expect(rows).to_have_count(3)
        assert [rows.nth(i).locator("td").first.inner_text() for i in range(3)] == list(HOSTS)
        table.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser-quickstart-fleet.png"))
        page_text = page.locator(".jp-Notebook").inner_text()
        assert DEMO_SECRET not in page_text and REGISTRY_PASSWORD not in page_text
        assert "demo-web-v1" in page_text  # `details`: the app container on each host
    assert (ARTIFACTS / "browser-quickstart-fleet.png").stat().st_size > 10_000
