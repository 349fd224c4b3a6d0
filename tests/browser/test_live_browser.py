"""The incident views of issue 19 in a real JupyterLab and Chromium, on a sandbox fleet:
``%kamal app logs -f`` and ``%kamal server exec --stream`` (the follow view: a pane per host, a grep
filter, a Stop button) and ``%kamal watch`` (the state table refreshed in place, a version change
shown while it watches). The Stop buttons are clicked in the page while their cells run and end them,
and so does Ctrl-C (the kernel interrupted from the page); no streamed process is left running.
Screenshots go to artifacts/.

Every wait is bounded: the page waits have timeouts, and each live cell has its own time limit
(``--for``) so that a Stop that is not answered fails the test instead of hanging it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kamal_nb.sandbox.fleet import DEMO_SECRET, create_sandbox
from kamal_nb.testing import demo
from tests.browser.lab import (
    ARTIFACTS,
    HOSTS,
    chromium_page,
    deploy,
    error_outputs,
    jupyterlab,
    open_notebook,
    processes_with,
    require_browser,
    run_all,
)

pytestmark = pytest.mark.browser

LIMIT = 90  # seconds: each live cell's own bound (a Stop not answered ends the cell here, failing the test)
MARKER = "kamalnb-browser-tick"  # in the streamed command's line, to find any process left behind
STREAMED = (
    f"i=0; while true; do i=$((i+1)); echo {MARKER}-$i; "
    "if [ $((i % 3)) = 0 ]; then echo error: request $i failed; fi; sleep 0.3; done"
)
CELLS = [
    "%load_ext kamal_nb",
    f"logs = %kamal app logs -f --for {LIMIT}",
    "print('logs', logs.stopped_by, sorted(set(logs.df['host'])))",
    f'followed = %kamal server exec --stream --for {LIMIT} "{STREAMED}"',
    "print('follow', followed.stopped_by, len(followed.df), sorted(set(followed.streams.values())))",
    f"watched = %kamal watch --every 1 --for {LIMIT}",
    "print('watch', watched.stopped_by, watched.ticks, len(watched.history))",
    f'interrupted = %kamal server exec --stream --for {LIMIT} "{STREAMED.replace(MARKER, MARKER + "-again")}"',
    "print('again', interrupted.stopped_by, sorted(set(interrupted.streams.values())))",
]


@dataclass
class Lab:
    url: str
    sandbox: Path
    project: Path


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_browser()
    root = tmp_path_factory.mktemp("lab")
    sandbox = create_sandbox(root / "sandbox", hosts=3)
    deploy(sandbox.project, sandbox.root)
    nbformat = demo._nbformat()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nbformat.write(nb, str(sandbox.project / "live.ipynb"))
    with jupyterlab(root, sandbox.project, sandbox.root) as url:
        yield Lab(url, sandbox.root, sandbox.project)


def test_follow_and_watch_live_with_their_stop_buttons(lab: Lab) -> None:
    from playwright.sync_api import expect

    with chromium_page() as page:
        open_notebook(page, lab.url, "live.ipynb")
        run_all(page)
        cells = page.locator(".jp-Notebook .jp-CodeCell")

        # app logs -f: a pane per host with the app's lines (on the sandbox the streams end by themselves:
        # its docker emulator prints a container's logs and returns)
        logs = cells.nth(1)
        expect(logs.locator(".widget-tab .lm-TabBar-tab")).to_have_count(3)
        expect(cells.nth(2).locator(".jp-OutputArea-output")).to_contain_text("logs ended", timeout=30_000)
        expect(logs.locator(".widget-html").filter(has_text="kamal app logs -f").first).to_contain_text("ended")
        # all hosts interleaved, each line labelled (the sandbox's web containers have logged nothing yet;
        # the jobs container its start); the switch is answered while the next cell runs
        logs.get_by_role("button", name="interleaved").click()
        interleaved = logs.locator(".widget-html").filter(has_text="10.200.0.13 |")
        expect(interleaved).to_contain_text("jobs started version=v1", timeout=15_000)
        logs.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser-logs-follow.png"))

        # a streamed command: lines arrive live in each host's pane, the grep filter narrows what is shown,
        # the Stop button ends the cell (answered while the cell runs)
        follow = cells.nth(3)
        tabs = follow.locator(".widget-tab .lm-TabBar-tab")
        expect(tabs).to_have_count(3)
        titles = [tabs.nth(i).inner_text() for i in range(3)]
        assert all(any(host in title for title in titles) for host in HOSTS), titles
        pane = follow.locator(".widget-tab .widget-html").first
        expect(pane).to_contain_text(f"{MARKER}-4", timeout=30_000)
        follow.locator(".widget-text input").fill("error:")
        expect(pane).to_contain_text("error: request 3 failed", timeout=15_000)
        expect(pane).not_to_contain_text(f"{MARKER}-4", timeout=15_000)
        follow.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser-follow-grep.png"))
        assert processes_with(MARKER), "the streamed commands run while the cell runs"
        clicked = time.monotonic()
        follow.get_by_role("button", name="Stop").click()
        expect(cells.nth(4).locator(".jp-OutputArea-output")).to_contain_text("follow stop button", timeout=30_000)
        stop_seconds = round(time.monotonic() - clicked, 1)
        expect(follow).to_contain_text("stopped: stop button")
        assert "['stopped (stop button)']" in cells.nth(4).inner_text(), "every host's stream stopped by the button"
        deadline = time.monotonic() + 10
        while processes_with(MARKER) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_with(MARKER) == [], "a streamed process was left running after Stop"

        # watch: the state table refreshed in place; a deploy made meanwhile shows as a version change
        watch = cells.nth(5)
        expect(watch.locator("table")).to_contain_text(HOSTS[0], timeout=30_000)
        expect(watch).to_contain_text("tick 2", timeout=30_000)
        deploy(lab.project, lab.sandbox, "v2")
        expect(watch.locator("table")).to_contain_text("v2", timeout=30_000)
        expect(watch).to_contain_text(f"{HOSTS[0]} web: version v1 → v2")  # the change, listed under the table
        watch.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "browser-watch.png"))
        watch.get_by_role("button", name="Stop").click()
        expect(cells.nth(6).locator(".jp-OutputArea-output")).to_contain_text("watch stop button", timeout=30_000)
        expect(watch).to_contain_text("stopped (stop button)")

        # Ctrl-C (the kernel interrupted, from the page's menu command) ends a follow as cleanly
        again = cells.nth(7)
        expect(again.locator(".widget-tab .widget-html").first).to_contain_text(f"{MARKER}-again-3", timeout=30_000)
        page.evaluate("() => { window.jupyterapp.commands.execute('notebook:interrupt-kernel'); }")
        said = cells.nth(8).locator(".jp-OutputArea-output")
        expect(said).to_contain_text("again interrupted ['stopped (interrupted)']", timeout=30_000)
        deadline = time.monotonic() + 10
        while processes_with(MARKER) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert processes_with(MARKER) == [], "a streamed process was left running after the interrupt"

        assert error_outputs(page) == []
        assert DEMO_SECRET not in page.locator(".jp-Notebook").inner_text()
    print(f"stop answered in {stop_seconds}s")
    assert stop_seconds < 10
    assert (ARTIFACTS / "browser-follow-grep.png").stat().st_size > 10_000
