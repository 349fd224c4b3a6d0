"""The runbooks on the Kamal tutorial's system, executed headless (nbclient, a real kernel): the
secrets-rotation runbook rotates the real MySQL root password (the app keeps serving, MySQL accepts the
new password and refuses the old one), the backup-and-restore runbook dumps the database and loads the
dump into a fresh accessory. No secret value may appear in an executed notebook."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.testing import demo
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.tutorial import BACKUPS, MASTER_KEY, secret, write_tutorial_project
from tests.fleet.test_notebooks import text_of
from tests.fleet.tutorial import counters, get, images, mysql, wipe

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    images(fleet)
    wipe(fleet_control, fleet)
    yield write_tutorial_project(tmp_path_factory.mktemp("tutorial"), fleet)
    wipe(fleet_control, fleet)


def execute(fleet: FleetInfo, project: Path, name: str, known: list[str], **parameters: object) -> Any:
    given = {
        "backend": "real",
        "fleet_base": fleet.base,
        "project_dir": str(project),
        "system": "tutorial",
        "confirm": True,
    }
    nb = demo.execute(demo.NOTEBOOKS / f"{name}.ipynb", {**given, **parameters}, timeout=300)
    values = [*known, fleet.registry_password, MASTER_KEY, *demo.secret_values(project)]
    assert demo.leaks(nb, values) == [], f"{name}: a secret value is in the executed notebook"
    return nb


def test_1_rotation_changes_the_mysql_password_while_the_app_serves(fleet: FleetInfo, project: Path) -> None:
    old = secret(project, "MYSQL_ROOT_PASSWORD")
    nb = execute(
        fleet,
        project,
        "secrets-rotation",
        [old],
        secret_name="MYSQL_ROOT_PASSWORD",
        database_accessory="db",
    )
    text = text_of(nb)
    assert "MYSQL_ROOT_PASSWORD rotated: env files changed on 3 hosts, containers restarted" in text
    assert "MySQL accepts the new MYSQL_ROOT_PASSWORD and refuses the old one" in text
    new = secret(project, "MYSQL_ROOT_PASSWORD")
    assert new != old
    # asked from outside too: MySQL itself, and the app through kamal-proxy
    assert mysql(fleet, new, "SELECT 1")[0] == 0
    status, refused = mysql(fleet, old, "SELECT 1")
    assert status != 0 and "Access denied" in refused
    for ip in fleet.host_ips[:2]:
        assert get(ip, "/up") == (200, "ok\n")
        assert get(ip, "/")[0] == 200


def test_2_backup_and_restore_into_a_fresh_accessory(fleet_control: Fleet, fleet: FleetInfo, project: Path) -> None:
    nb = execute(fleet, project, "backup-restore", [])
    text = text_of(nb)
    assert "restored /backups/tutorial_production-" in text and "as before the dump" in text
    backups = fleet_control.node_dir("h3") / "root" / BACKUPS.removeprefix("/root/")
    dumps = sorted(backups.glob("tutorial_production-*.sql"))
    assert len(dumps) == 1 and "CREATE TABLE `counters`" in dumps[0].read_text()
    assert get(fleet.host_ips[0], "/up")[0] == 200
    saved = int(dumps[0].read_text().split("('visits',", 1)[1].split(")", 1)[0])
    assert counters(fleet.host_ips[0])["visits"] == saved
