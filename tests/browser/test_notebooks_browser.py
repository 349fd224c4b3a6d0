"""The five deploy notebooks (README's table: quickstart, deploy-runbook, rollback-playbook,
secrets-rotation, fleet-inspection) run with "Run All" in a real JupyterLab in Chromium, one after
the other on one sandbox fleet, as a person would use them: each runs to its end with no error, says
what it did, shows no secret; a screenshot per section (a "##" heading, scrolled to the top of the
page) goes to artifacts/notebooks/, for a person to read (issue 15: "check by eye that every output
reads clearly").
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kamal_nb.sandbox.fleet import DEMO_SECRET, REGISTRY_PASSWORD, create_sandbox
from kamal_nb.testing import demo
from tests.browser.lab import (
    ARTIFACTS,
    chromium_page,
    error_outputs,
    jupyterlab,
    open_notebook,
    require_browser,
    run_all,
    shutdown_kernels,
    wait_all_ran,
)

pytestmark = pytest.mark.browser

SHOTS = ARTIFACTS / "notebooks"

# in the order a person meets them (each builds on the fleet the one before left), with its parameters
# and a line it must say
NOTEBOOKS: list[tuple[str, dict[str, object], str]] = [
    ("quickstart", {}, "Fleet state of demo: 3 hosts, 3 reachable"),
    ("deploy-runbook", {"version": "v2"}, "deployed v2: every host runs it and every web host serves it"),
    ("rollback-playbook", {}, "rolled back from v2 to v1"),
    ("secrets-rotation", {}, "DEMO_SECRET rotated: env files changed on 3 hosts, containers restarted"),
    ("fleet-inspection", {}, "3 of 3 hosts answered"),
]

# the README's two pictures (docs/images/, copied from these by hand): a deploy result, the state tables
README_SHOTS = {
    "deploy-runbook": ("deployed = %kamal deploy", "readme-deploy.png"),
    "fleet-inspection": ("s = %kamal state", "readme-state.png"),
}


@dataclass
class Lab:
    url: str
    secrets: list[str]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    require_browser()
    root = tmp_path_factory.mktemp("lab")
    work = root / "notebooks"
    work.mkdir()
    nbformat = demo._nbformat()
    for name, parameters, _ in NOTEBOOKS:  # copies: JupyterLab saves into them, never into the repo's
        nb = nbformat.read(str(demo.NOTEBOOKS / f"{name}.ipynb"), as_version=4)
        demo.inject_parameters(nb, {"confirm": True, **parameters})  # as papermill -p confirm True does
        nbformat.write(nb, str(work / f"{name}.ipynb"))
    sandbox = create_sandbox(root / "sandbox", hosts=3)
    with jupyterlab(root, work, sandbox.root) as url:
        yield Lab(url, [DEMO_SECRET, REGISTRY_PASSWORD, *demo.secret_values(sandbox.project)])


def _slug(heading: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")[:40]


def _screenshot_sections(page: object, name: str) -> list[Path]:
    """Each "##" section scrolled to the top of the notebook's panel, the page as a person sees it."""
    headings = page.locator(".jp-Notebook .jp-MarkdownCell h2")  # type: ignore[attr-defined]
    shots = []
    for i in range(headings.count()):
        heading = headings.nth(i)
        heading.evaluate("e => e.scrollIntoView({block: 'start'})")
        path = SHOTS / f"{name}-{i + 1:02d}-{_slug(heading.inner_text())}.png"
        page.screenshot(path=str(path))  # type: ignore[attr-defined]
        shots.append(path)
    return shots


def test_the_five_deploy_notebooks_run_in_jupyterlab(lab: Lab) -> None:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    took: dict[str, float] = {}
    with chromium_page() as page:
        for name, _, says in NOTEBOOKS:
            started = time.monotonic()
            open_notebook(page, lab.url, f"{name}.ipynb")
            run_all(page)
            wait_all_ran(page, 300_000)
            took[name] = round(time.monotonic() - started, 1)
            assert error_outputs(page) == [], f"{name}: a cell failed"
            text = page.locator(".jp-Notebook").inner_text()
            assert says in text, f"{name}: {says!r} is not on the page"
            raw = re.findall(r".*(?:<NA>|\bNaN\b|\bNaT\b).*", text)
            assert raw == [], f"{name}: pandas' raw missing values on the page: {raw[:3]}"
            leaked = [i for i, secret in enumerate(lab.secrets) if secret in text]
            assert leaked == [], f"{name}: secret number {leaked} is on the page"
            shots = _screenshot_sections(page, name)
            assert len(shots) >= 5 and all(p.stat().st_size > 10_000 for p in shots), name
            if name in README_SHOTS:
                source, file = README_SHOTS[name]
                cell = page.locator(".jp-Notebook .jp-CodeCell").filter(has_text=source).first
                page.set_viewport_size({"width": 1900, "height": 1000})  # the wide tables whole
                cell.screenshot(path=str(SHOTS / file))
                page.set_viewport_size({"width": 1400, "height": 1000})
            shutdown_kernels(lab.url)  # the next notebook gets the CPU (the machine has two cores)
    print("seconds per notebook (open, Run All, every cell done):", took)
