"""The Kamal tutorial's system for real, on the test fleet: the app (web on hosts 1 and 2, jobs on
host 2) on MySQL and Redis accessories (host 3), built from Debian's packages. Its whole life, each
step beside the real Kamal 2.11 where both have the command: setup, the app reaching both accessories
through kamal-proxy, `accessory reboot` keeping the data, rotating MYSQL_ROOT_PASSWORD (`env push`,
the password changed in MySQL, `app boot`), a dump and its restore into a fresh accessory, logs,
`remove`. The tests run in order on one system."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kamal_nb.ops.session import Session
from kamal_nb.testing.fleet import Fleet, FleetInfo
from kamal_nb.testing.tutorial import BACKUPS, DB_SERVICE, new_password, secret, write_tutorial_project
from tests.fleet.helpers import kamal_ok, run
from tests.fleet.tutorial import counters, difference, get, images, mysql, state, wait_for, wipe

pytestmark = pytest.mark.fleet


@pytest.fixture(scope="module")
def project(fleet_control: Fleet, fleet: FleetInfo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    images(fleet)
    wipe(fleet_control, fleet)
    yield write_tutorial_project(tmp_path_factory.mktemp("tutorial"), fleet)
    wipe(fleet_control, fleet)


def web(fleet: FleetInfo) -> list[str]:
    return fleet.host_ips[:2]


def test_1_kamal_and_kamal_nb_set_up_the_same_system(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    kamal_ok(project, "setup", "-P", "--version", "v1")
    by_kamal = state(fleet_control, fleet)
    h3 = by_kamal["h3"]
    assert {c["name"]: c["status"] for c in h3["containers"]} == {
        "tutorial-db": "running",
        "tutorial-redis": "running",
    }
    assert h3["files"]["tutorial-db/etc/mysql/my.cnf"][0] == "0o755"
    assert h3["files"]["tutorial-db/data"][1] == "dir"
    assert h3["files"][".kamal/apps/tutorial/env/accessories/db.env"][0] == "0o600"
    wait_for("the app on both web hosts", lambda: all(get(ip, "/up")[0] == 200 for ip in web(fleet)))

    wipe(fleet_control, fleet)
    result = run(session, ("setup",), {"skip_push": True}, version="v1")
    assert result.ok, result
    by_kamal_nb = state(fleet_control, fleet)
    assert by_kamal_nb == by_kamal, difference(by_kamal, by_kamal_nb)


def test_2_the_app_counts_in_mysql_and_redis_through_kamal_proxy(fleet: FleetInfo, project: Path) -> None:
    h1, h2 = web(fleet)
    wait_for("the app on both web hosts", lambda: all(get(ip, "/up")[0] == 200 for ip in (h1, h2)))
    before = counters(h1)
    for ip in (h1, h2, h1):
        status, body = get(ip)
        assert status == 200 and body.startswith("tutorial v1: visits"), body
    after = counters(h2)  # one database behind both hosts
    assert after["visits"] == before["visits"] + 3 and after["redis_hits"] == before["redis_hits"] + 3
    # the jobs role (host 2) writes to both as well
    wait_for("the jobs role to count", lambda: counters(h1)["jobs"] > after["jobs"] + 1, timeout=15)
    assert counters(h1)["redis_jobs"] > after["redis_jobs"]
    # the init SQL ran once, on the first start
    status, runs = mysql(fleet, secret(project, "MYSQL_ROOT_PASSWORD"), "SELECT COUNT(*) FROM setup_runs")
    assert status == 0 and runs.strip() == "1", runs


def test_3_accessory_reboot_keeps_the_data_as_with_kamal(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    h1, _ = web(fleet)
    get(h1)
    before = counters(h1)
    for accessory in ("db", "redis"):
        run(session, ("accessory", "reboot"), {"name": accessory}).raise_on_failure()
    by_kamal_nb = state(fleet_control, fleet)
    kamal_ok(project, "accessory", "reboot", "db")
    kamal_ok(project, "accessory", "reboot", "redis")
    by_kamal = state(fleet_control, fleet)
    assert by_kamal_nb == by_kamal, difference(by_kamal, by_kamal_nb)
    wait_for("the app to reconnect", lambda: get(h1, "/up")[0] == 200)
    after = counters(h1)
    assert after["visits"] == before["visits"] and after["redis_hits"] == before["redis_hits"]
    assert after["jobs"] >= before["jobs"]
    status, runs = mysql(fleet, secret(project, "MYSQL_ROOT_PASSWORD"), "SELECT COUNT(*) FROM setup_runs")
    assert status == 0 and runs.strip() == "1", "the init SQL ran again after the reboot"


class Watch:
    """GET / on the web hosts in a loop, in a thread: the statuses that were not 200."""

    def __init__(self, hosts: list[str]) -> None:
        self.hosts, self.failures, self.requests = hosts, list[tuple[str, int, str]](), 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            for ip in self.hosts:
                try:
                    status, body = get(ip, "/", timeout=5)
                except OSError as error:
                    status, body = 0, str(error)
                self.requests += 1
                if status != 200:
                    self.failures.append((ip, status, body[:100]))
            self._stop.wait(0.2)

    def __enter__(self) -> Watch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=15)


def test_4_rotating_the_mysql_password_keeps_the_app_serving(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    old = secret(project, "MYSQL_ROOT_PASSWORD")
    new = new_password()
    secrets_file = project / ".kamal" / "secrets"
    secrets_file.write_text(
        secrets_file.read_text().replace(f"MYSQL_ROOT_PASSWORD={old}", f"MYSQL_ROOT_PASSWORD={new}")
    )
    with Watch(web(fleet)) as watch:
        run(session, ("env", "push")).raise_on_failure()
        # the password in MySQL itself, from a new db container that reads the pushed env file
        changed = run(session, ("accessory", "exec"), {"name": "db", "cmd": "mysql-set-root-password"})
        assert changed.ok and "root password changed" in changed.output(fleet.host_ips[2]), changed
        run(session, ("app", "boot"), version="v1").raise_on_failure()
    assert watch.requests > 5 and watch.failures == [], watch.failures[:5]
    h3 = fleet_control.node_dir("h3") / "root"
    env_file = (h3 / ".kamal/apps/tutorial/env/accessories/db.env").read_text()
    assert f"MYSQL_ROOT_PASSWORD={new}\n" in env_file
    assert mysql(fleet, new, "SELECT 1")[0] == 0, "the new password is refused"
    status, refused = mysql(fleet, old, "SELECT 1")
    assert status != 0 and "Access denied" in refused
    for ip in web(fleet):
        assert get(ip, "/up") == (200, "ok\n")
    # Kamal 2 has no `env push` (a kamal_nb extra): its boots upload the env files. They upload the
    # same files kamal_nb pushed, and leave the same containers.
    rotated = state(fleet_control, fleet, running=True)
    kamal_ok(project, "app", "boot", "--version", "v1")
    kamal_ok(project, "accessory", "reboot", "db")
    by_kamal = state(fleet_control, fleet, running=True)
    # the one difference: Kamal's reboot gave the database's container the new password in its env
    # (its entrypoint reads it on the first start only, so kamal_nb's rotation leaves it running)
    rebooted_db = by_kamal["h3"]["containers"].pop(0)
    assert rebooted_db["name"] == DB_SERVICE and f"MYSQL_ROOT_PASSWORD={new}" in rebooted_db["env"]
    assert rotated["h3"]["containers"].pop(0)["name"] == DB_SERVICE
    assert by_kamal == rotated, difference(rotated, by_kamal)
    wait_for("the app after the database's reboot", lambda: all(get(ip, "/up")[0] == 200 for ip in web(fleet)))


def test_5_a_dump_restored_into_a_fresh_accessory(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    h1, _ = web(fleet)
    get(h1)
    saved = counters(h1)["visits"]
    dump = "sh -c 'mysqldump --databases tutorial_production > /backups/tutorial.sql'"
    dumped = run(session, ("accessory", "exec"), {"name": "db", "cmd": dump, "reuse": True})
    assert dumped.ok, dumped
    kamal_ok(project, "accessory", "exec", "db", "--reuse", "sh -c 'mysqldump --all-databases > /backups/kamal.sql'")
    backups = fleet_control.node_dir("h3") / "root" / BACKUPS.removeprefix("/root/")
    for name in ("tutorial.sql", "kamal.sql"):
        assert "CREATE TABLE `counters`" in (backups / name).read_text()

    run(session, ("accessory", "remove"), {"name": "db"}).raise_on_failure()
    assert not (fleet_control.node_dir("h3") / "root" / DB_SERVICE).exists()
    run(session, ("accessory", "boot"), {"name": "db"}).raise_on_failure()
    password = secret(project, "MYSQL_ROOT_PASSWORD")
    wait_for("the fresh database", lambda: mysql(fleet, password, "SELECT 1")[0] == 0)
    assert mysql(fleet, password, "SELECT value FROM counters WHERE name = 'visits'")[1].strip() == "0"
    restore = "sh -c 'mariadb < /backups/tutorial.sql'"
    run(session, ("accessory", "exec"), {"name": "db", "cmd": restore, "reuse": True}).raise_on_failure()
    wait_for("the app to reconnect", lambda: get(h1, "/up")[0] == 200)
    assert counters(h1)["visits"] == saved


def test_6_accessory_logs_as_with_kamal(session: Session, project: Path, fleet: FleetInfo) -> None:
    logs = run(session, ("accessory", "logs"), {"name": "db", "lines": 50})
    assert logs.ok and "ready for connections" in logs.output(fleet.host_ips[2])
    assert "ready for connections" in kamal_ok(project, "accessory", "logs", "db", "-n", "50")


def test_7_remove_leaves_nothing_but_the_dumps(
    session: Session, project: Path, fleet_control: Fleet, fleet: FleetInfo
) -> None:
    run(session, ("remove",)).raise_on_failure()
    after: dict[str, Any] = state(fleet_control, fleet)
    for host in fleet.hosts:
        assert after[host.name]["containers"] == [], host.name
        left = [f for f in after[host.name]["files"] if f.startswith(("tutorial-", ".kamal/apps/tutorial"))]
        # as with Kamal: `app remove` deletes .kamal/apps/tutorial on the app's hosts only, and
        # `accessory remove` leaves the accessories' env files (section 3 of the Kamal reference)
        if host.name == "h3":
            assert [f for f in left if f.endswith(".env")] == [
                ".kamal/apps/tutorial/env/accessories/db.env",
                ".kamal/apps/tutorial/env/accessories/redis.env",
            ]
        else:
            assert left == [], host.name
    assert "backups/tutorial-db/tutorial.sql" in after["h3"]["files"]
