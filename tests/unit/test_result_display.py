"""What `%kamal` shows for the commands an on-call engineer runs most, on a sandbox fleet, read as
text (a terminal, nbconvert --to markdown) and as HTML (a live or saved notebook): the summary
comes first, and no raw JSON, `<NA>`, `NaN`, wrapped base64 or line split between chunks shows.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from typing import Any

import pytest
from IPython.core.interactiveshell import InteractiveShell
from IPython.utils.capture import capture_output

from kamal_nb.engine.html_style import LEFT
from kamal_nb.notebook.errors import KamalOperationFailed
from kamal_nb.notebook.magics import PendingOperation
from kamal_nb.sandbox.fleet import create_sandbox, set_host_down

pytestmark = pytest.mark.slow  # a sandbox deploy or two: seconds each
Shell = Any  # IPython's InteractiveShell: its methods are untyped
HOSTS = ("10.200.0.11", "10.200.0.12")


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Shell]:
    info = create_sandbox(tmp_path_factory.mktemp("display"), hosts=2)
    saved = {k: os.environ.get(k) for k in ("KAMAL_NB_BACKEND", "KAMAL_NB_SANDBOX_DIR")}
    os.environ.update(KAMAL_NB_BACKEND="sandbox", KAMAL_NB_SANDBOX_DIR=str(info.root))
    cwd = os.getcwd()
    os.chdir(info.project)
    ip: Shell = InteractiveShell.instance()
    ip.config.pop("KamalMagics", None)
    if "kamal_nb" in ip.extension_manager.loaded:
        ip.run_line_magic("reload_ext", "kamal_nb")
    else:
        ip.run_line_magic("load_ext", "kamal_nb")
    ip.run_line_magic("config", "KamalMagics.widgets = 'off'")
    ip.user_ns["_sandbox_root"] = info.root
    yield ip
    ip.run_line_magic("unload_ext", "kamal_nb")
    ip.config.pop("KamalMagics", None)
    os.chdir(cwd)
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def shown(ip: Shell, command: str) -> tuple[Any, str, str, str]:
    """Run `%kamal COMMAND`: its value, what printed live, and its text/plain and text/html."""
    with capture_output() as live:
        value = ip.run_line_magic("kamal", command)
    data, _ = ip.display_formatter.format(value)
    text, page = data["text/plain"], data["text/html"]
    for form in (text, page, live.stdout):
        assert "<NA>" not in form and "&lt;NA&gt;" not in form, form
        assert not re.search(r"\bNaN\b|\bNaT\b|\bNone\b", form), form
        assert '{"' not in form, form  # no raw JSON (docker inspect's, say)
        assert "TG9ja2VkIGJ5" not in form, form  # the lock's details, base64 ("Locked by") wrapped over lines
    assert not re.search(r"^\s*[\[{]", text, re.MULTILINE), text  # no JSON document either
    for line in live.stdout.splitlines():  # live lines are whole: each names its host
        assert not line.strip() or re.match(r"^\[(local|10\.200\.0\.1[12])\] ", line), line
    return value, live.stdout, text, page


def first_line(text: str) -> str:
    return text.lstrip("\n").splitlines()[0]


def summary_first(text: str, page: str, summary: str) -> None:
    """`summary` (a regular expression) is the first line of the text and the first thing in the HTML."""
    assert re.match(summary, first_line(text)), text
    lead = re.match(r"\s*<p><b>(.*?)</b>", page)
    assert lead is not None, page[:300]
    assert re.match(summary, lead.group(1).replace("&#x27;", "'")), lead.group(1)


def test_fresh_fleet_state_and_details(shell: Shell) -> None:
    _, _, text, page = shown(shell, "state")
    summary_first(text, page, r"Fleet state of demo: 2 hosts, 2 reachable")
    assert "nothing deployed yet" in text and "ERROR" not in text  # graded: an empty fleet is info
    _, _, text, page = shown(shell, "details")
    summary_first(text, page, r"kamal details: no containers on 2 hosts \(")
    assert "CONTAINER ID" not in text and "CONTAINER ID" in page, "docker's own tables: on demand (collapsed)"
    assert "<details open>" not in page
    _, _, text, page = shown(shell, "app version")
    summary_first(text, page, r"kamal app version: no version running on 2 hosts \(")
    assert [line.split() for line in text.splitlines() if line.startswith("10.200")] == [
        [host, "web", "—"] for host in HOSTS
    ], "no version: a dash, not None or <NA>"
    _, _, text, page = shown(shell, "app containers")
    summary_first(text, page, r"kamal app containers: no containers on 2 hosts \(")


def test_deploy_confirm_then_deploy_then_version(shell: Shell) -> None:
    pending, _, text, page = shown(shell, "deploy -P --version v1")
    assert isinstance(pending, PendingOperation) and not pending.ran
    summary_first(text, page, r"kamal deploy: nothing was run: confirm with --yes")
    facts = text.splitlines()[1]
    assert f"hosts {', '.join(HOSTS)}" in facts and "roles web" in facts and "version v1" in facts
    assert page.index("nothing was run") < page.index("<details><summary>the full plan</summary>")
    assert "== pull the image, take the deploy lock ==" in text and "<h4>Ensure kamal-proxy is running</h4>" in page
    assert '"<lock details: Locked by: ' in text and "Message: Automatic deploy lock>" in text
    assert "TG9ja2VkIGJ5" in pending.plan.wire(), "the exact payload stays available"

    _, _, text, page = shown(shell, "deploy -P --version v1 --yes")
    summary_first(text, page, r"kamal deploy: v1 booted on 2 of 2 hosts \(")
    assert "Login Succeeded" not in text, "a deploy's output is a log: collapsed, not in the text"
    rows = [line.split() for line in text.splitlines() if line.startswith("10.200") and " web " in line]
    assert [(r[0], r[1], " ".join(r[2:5]), r[6], r[7]) for r in rows] == [
        (host, "web", "— → v1", "healthy", "ok") for host in HOSTS
    ], text  # host by role: version before → after, the container, kamal-proxy's health check
    assert "<details><summary>10.200.0.11: " in page and "<details open>" not in page

    version, _, text, page = shown(shell, "app version")
    summary_first(text, page, r"kamal app version: v1 on 2 of 2 hosts \(")
    rows = [line.split() for line in text.splitlines()[1:] if line.startswith("10.200")]
    assert rows == [[HOSTS[0], "web", "v1"], [HOSTS[1], "web", "v1"]], text
    assert f"<th{LEFT}>role</th><th{LEFT}>version</th>" in page and f"<td{LEFT}>v1</td>" in page
    assert version.df.columns.tolist() == ["host", "role", "version"] and version.output(HOSTS[0]) == "v1\n"
    assert page.index("<table") < page.index(f"<details><summary>{HOSTS[0]}: 1 line of output")

    containers, _, text, page = shown(shell, "app containers")
    summary_first(text, page, r"kamal app containers: 2 containers on 2 hosts, 2 running \(")
    header, *rows = [line.split() for line in text.splitlines()[2 : 4 + 1] if line]
    assert header == ["host", "container_id", "name", "image", "status"], text
    assert [(row[0], row[2], row[4]) for row in rows] == [(host, "demo-web-v1", "Up") for host in HOSTS], text
    assert containers.df.container_id.str.fullmatch(r"[0-9a-f]{12}").all()
    assert "CONTAINER ID" not in text and "CONTAINER ID" in page, "docker's own table: on demand only"

    images, _, text, page = shown(shell, "app images")
    summary_first(text, page, r"kamal app images: 4 images on 2 hosts, tags latest, v1 \(")
    assert text.splitlines()[2].split() == ["host", "repository", "tag", "image_id", "created", "size"], text
    assert sorted(images.df.tag) == ["latest", "latest", "v1", "v1"]


def test_lock_status_acquire_release(shell: Shell) -> None:
    _, _, text, page = shown(shell, "lock status")
    summary_first(text, page, r"kamal lock status: ok on 1 host \(")
    assert text.splitlines()[1] == "There is no deploy lock"
    assert "exit_code" not in text + page, "a missing lock is an answer: no exit code column"

    _, _, text, page = shown(shell, "lock acquire -m 'db migration' --yes")
    summary_first(text, page, r"kamal lock acquire: ok on 2 hosts \(")
    assert re.search(r"^Locked by .* at \S+ · version \S+ · message: db migration$", text, re.MULTILINE), text

    _, _, text, page = shown(shell, "lock status")
    lines = text.splitlines()
    assert re.match(r"Locked by .* · message: db migration$", lines[1]), text
    assert "Version: " not in text and "Message: " not in text, "the details file is said once, in one line"

    _, _, text, page = shown(shell, "lock release --yes")
    summary_first(text, page, r"kamal lock release: ok on 1 host \(")
    assert "Released the deploy lock" in text


def test_rollback_to_nowhere_then_rollback_and_state(shell: Shell) -> None:
    _, _, text, page = shown(shell, "rollback v9 --yes")
    summary_first(
        text, page, r"kamal rollback: nothing changed: the version is not available as a container on any host \("
    )
    assert "output" not in text.splitlines()[3], "a rollback's one-line output is a log, not a column"
    shown(shell, "deploy -P --version v2 --yes")
    _, _, text, page = shown(shell, "rollback v1 --yes")
    summary_first(text, page, r"kamal rollback: v1 booted on 2 of 2 hosts \(")
    assert "v2 → v1" in text and f"<td{LEFT}>v2 → v1</td>" in page
    _, _, text, page = shown(shell, "state")
    summary_first(text, page, r"Fleet state of demo: 2 hosts, 2 reachable")
    assert "web: v1" in text, text


def test_a_deploy_with_a_host_down_from_the_start_says_nothing_booted(shell: Shell) -> None:
    root = shell.user_ns["_sandbox_root"]
    set_host_down(root, HOSTS[1])
    try:
        with capture_output() as live, pytest.raises(KamalOperationFailed) as failed:
            shell.run_line_magic("kamal", "deploy -P --version v2 --yes")
    finally:
        set_host_down(root, HOSTS[1], down=False)
    result = failed.value.result
    data, _ = shell.display_formatter.format(result)
    summary_first(data["text/plain"], data["text/html"], rf"kamal deploy: FAILED: nothing booted, because {HOSTS[1]}: ")
    assert "connection refused" in first_line(data["text/plain"])
    displayed = [o.data["text/plain"] for o in live.outputs]
    assert [t for t in displayed if t.startswith("kamal deploy: FAILED: nothing booted")], "shown before the raise"
    assert str(failed.value).startswith("kamal deploy failed on 1 of 2 hosts")


def test_plan_wire_is_the_exact_text_and_the_plan_reads_by_phase(shell: Shell) -> None:
    import io

    from kamal_nb import cli

    plan = shell.run_line_magic("kamal", "plan deploy -P --version v4")
    wire = shell.run_line_magic("kamal", "plan --wire deploy -P --version v4")
    assert str(wire) == plan.wire() and "TG9ja2VkIGJ5" in str(wire) and "<lock details:" not in str(wire)
    assert "== release the deploy lock ==" in str(plan) and "<lock details: Locked by: " in str(plan)
    out, err = io.StringIO(), io.StringIO()
    assert cli.main(["plan", "--wire", "deploy", "-P", "--version", "v4"], out=out, err=err) == 0, err.getvalue()
    assert "TG9ja2VkIGJ5" in out.getvalue() and "== " not in out.getvalue()
