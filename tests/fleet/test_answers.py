"""`app version`, `app containers` and `app images` on the real fleet: typed tables parsed from the
output of Kamal's own commands (unchanged on the hosts, still reachable raw), checked against what the
real Kamal prints and what each host's engine holds, with a host down too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kamal_nb.engine.answers import Answer
from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from tests.fleet.helpers import kamal_ok, run, set_up_with_kamal
from tests.fleet.project import real_kamal

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo app at v2 after v1, by the real Kamal: web on h1, h2, jobs on h3 (v1 stopped, kept)."""
    project = set_up_with_kamal(fleet_control, fleet, tmp_path_factory.mktemp("answers"))
    kamal_ok(project, "deploy", "-P", "--version", "v2")
    return project


def shown(result: object) -> tuple[str, str]:
    data = result._repr_mimebundle_()  # type: ignore[attr-defined]
    text, page = data["text/plain"], data["text/html"]
    for form in (text, page):
        assert "<NA>" not in form and "NaN" not in form, form
        assert not re.search(r"(^|  |<td[^>]*>)None(  |$|</td>)", form, re.MULTILINE), form  # no None as a cell
    return text, page


def test_version_is_a_table_of_host_role_version(session: Session, project: Path, fleet: FleetInfo) -> None:
    h1, h2, h3 = fleet.host_ips
    result = run(session, ("app", "version"))
    assert isinstance(result.data, Answer)
    rows = result.df[["host", "role", "version"]].values.tolist()
    assert rows == [[h1, "web", "v2"], [h2, "web", "v2"], [h3, "jobs", "v2"]]
    assert result.output(h1) == "v2\n", "each host's raw answer stays as Kamal's command printed it"
    kamal = real_kamal(project, "app", "version", "-q")
    assert kamal.returncode == 0 and kamal.stdout.count("v2") == 3
    text, page = shown(result)
    assert text.splitlines()[0].startswith("kamal app version: v2 on 3 of 3 hosts (")
    assert "<p><b>kamal app version: v2 on 3 of 3 hosts (" in page.split("<table")[0]


def test_containers_and_images_are_parsed_from_dockers_tables(
    session: Session, project: Path, fleet: FleetInfo
) -> None:
    h1, _, h3 = fleet.host_ips
    containers = run(session, ("app", "containers"))
    frame = containers.df
    on_h3 = frame[frame.host == h3].set_index("name")
    assert set(on_h3.index) == {"demo-jobs-v1", "demo-jobs-v2"}
    assert str(on_h3.loc["demo-jobs-v2", "status"]).startswith("Up ")
    assert str(on_h3.loc["demo-jobs-v1", "status"]).startswith("Exited ")
    assert on_h3.loc["demo-jobs-v2", "image"] == f"{fleet.registry}/demo:v2"
    kamal = real_kamal(project, "app", "containers", "-q")
    assert kamal.returncode == 0
    for container_id in frame.container_id:  # every id kamal_nb parsed, the real Kamal listed
        assert len(container_id) == 12 and container_id in kamal.stdout
    assert len(frame) == sum(line.split()[0] in set(frame.container_id) for line in kamal.stdout.splitlines() if line)
    text, _ = shown(containers)
    assert text.splitlines()[0].startswith("kamal app containers: 6 containers on 3 hosts, 3 running (")

    images = run(session, ("app", "images"))
    frame = images.df
    assert {"v1", "v2", "latest"} <= set(frame[frame.host == h1].tag)
    assert set(frame.repository) == {f"{fleet.registry}/demo"}
    assert frame.image_id.str.fullmatch(r"[0-9a-f]{12}").all() and frame["size"].str.match(r"[\d.]+[kMG]?B").all()
    assert f"{fleet.registry}/demo" in images.output(h1).splitlines()[1], "the raw `docker image ls` stays"


def test_details_is_one_table_of_the_proxy_app_and_accessory_containers(session: Session, fleet: FleetInfo) -> None:
    h1, h2, h3 = fleet.host_ips
    details = run(session, ("details",))
    names = {(row.host, row.name) for row in details.df.itertuples()}
    assert {(h1, "kamal-proxy"), (h2, "kamal-proxy"), (h1, "demo-web-v2"), (h3, "demo-jobs-v2")} <= names
    assert (h3, "kamal-proxy") not in names
    assert details.output(h1).count("CONTAINER ID") == 2, "docker's own tables (proxy, app) stay as printed"
    text, _ = shown(details)
    assert text.splitlines()[0].startswith("kamal details: ")
    proxy = run(session, ("proxy", "details"))
    assert set(proxy.df.name) == {"kamal-proxy"} and set(proxy.df.host) == {h1, h2}


def test_a_host_down_is_a_failed_row_and_the_others_answer(
    session: Session, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    h1, h2, h3 = fleet.host_ips
    fleet_control.stop_sshd("h3")
    try:
        version = run(session, ("app", "version"))
        containers = run(session, ("app", "containers"))
    finally:
        fleet_control.start_sshd("h3")
    assert not version.ok
    frame = version.df
    assert frame[["host", "version"]].values.tolist()[:2] == [[h1, "v2"], [h2, "v2"]]
    assert str(frame.loc[frame.host == h3, "status"].item()).startswith("FAILED: ")
    assert frame.loc[frame.host == h3, "version"].isna().item(), "no version: NA in the data, blank in the view"
    text, page = shown(version)
    assert text.splitlines()[0].startswith("kamal app version: FAILED on 1 of 3 hosts; v2 on 2 of 2 hosts (")
    assert "<tr style='background-color: #f8d7da'>" in page
    assert containers.df.loc[containers.df.host == h3, "status"].item() == "FAILED"
    text, _ = shown(containers)
    assert "4 containers on 2 hosts" in text.splitlines()[0]
