"""When a deploy's steps happen, from the hosts' timelines: the other roles boot as soon as the first
web container is healthy, without waiting for the old one to stop (Kamal's barrier)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.project import deploy_config, write_project
from tests.fleet.helpers import run, running, version_of

pytestmark = pytest.mark.fleet

STOP_DELAY = 3  # the web app takes this long to stop (see kamal_nb/testing/images/app/web.sh)


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Path:
    config = deploy_config(fleet, env={"clear": {"STOP_DELAY": str(STOP_DELAY)}, "secret": ["DEMO_SECRET"]})
    return write_project(tmp_path_factory.mktemp("timing"), fleet, config)


@pytest.fixture
def slow_stopping(session: Session, fleet_control: Fleet) -> Iterator[Session]:
    fleet_control.reset_hosts()
    setup = run(session, ("setup",), {"skip_push": True}, version="v1")
    assert setup.ok, str(setup)
    yield session
    fleet_control.reset_hosts()  # slow stops would slow down every later test


def test_the_jobs_role_boots_while_the_old_web_version_is_still_stopping(
    slow_stopping: Session, fleet: FleetInfo
) -> None:
    h1, h2, h3 = fleet.host_ips
    result = run(slow_stopping, ("redeploy",), {"skip_push": True}, version="v2")
    assert result.ok, str(result)
    assert version_of(h1) == "v2" and running(fleet, 2) == ["demo-jobs-v2"]

    def command(host: str, text: str) -> tuple[float, float]:
        (found,) = [c for c in result.hosts[host].commands if text in c.command]
        return found.started_at, found.started_at + found.duration

    web_stops = [command(h, "--filter 'name=^demo-web-v1$' --quiet | xargs docker stop") for h in (h1, h2)]
    assert all(end - start >= STOP_DELAY - 0.5 for start, end in web_stops)  # the stops really were slow
    jobs_run, _ = command(h3, "docker run --detach --restart unless-stopped --name demo-jobs-v2")
    assert jobs_run < min(end for _, end in web_stops) - 1.5
