"""The Kamal tutorial's system as a project on the test fleet: a web app on MySQL and Redis accessories.

``kamal2/`` is the project the tests and runbooks deploy (config/deploy.yml, the MySQL config and the
init SQL); ``kamal1/`` is the tutorial's Kamal 1 original, which Kamal 2 refuses. Both are templates:
``write_tutorial_project`` fills in the fleet's addresses and writes the secrets (``.kamal/secrets``
for Kamal 2, ``.env`` for Kamal 1), then makes the directory a git repository, as Kamal expects.

Layout on a 3-host fleet: web on hosts 1 and 2 behind kamal-proxy, the jobs role on host 2, the db
(MySQL, port 3306) and redis (port 6379) accessories on host 3, which the app reaches at DB_HOST.
The images come from ``kamal_nb.testing.images.tutorial``.
"""

from __future__ import annotations

import secrets as tokens
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path

from kamal_nb.testing.fleet import FleetInfo

HERE = Path(__file__).parent
SERVICE = "tutorial"
DATABASE = "tutorial_production"
DB_SERVICE, REDIS_SERVICE = "tutorial-db", "tutorial-redis"
BACKUPS = "/root/backups/tutorial-db"  # on the db host: the db accessory's /backups
MASTER_KEY = "tutorial-master-key-5b2c9e1d"  # a throwaway value for a throwaway app


def placeholders(fleet: FleetInfo) -> dict[str, str]:
    hosts = fleet.host_ips
    if len(hosts) < 3:
        raise ValueError(f"the tutorial system needs 3 hosts, the fleet has {len(hosts)}")
    return {
        "WEB1": hosts[0],
        "WEB2": hosts[1],
        "DB_HOST": hosts[2],
        "REGISTRY": fleet.registry,
        "REGISTRY_USER": fleet.registry_user,
        "SSH_KEY": fleet.ssh_key,
        "SSH_CONFIG": fleet.ssh_config,
    }


def fill(text: str, values: Mapping[str, str]) -> str:
    for name, value in values.items():
        text = text.replace(f"@{name}@", value)
    return text


def new_password() -> str:
    return tokens.token_urlsafe(18)


def write_tutorial_project(
    directory: Path,
    fleet: FleetInfo,
    *,
    kamal1: bool = False,
    mysql_password: str | None = None,
) -> Path:
    """The tutorial project in ``directory`` (Kamal 2 unless ``kamal1``), aimed at ``fleet``.

    ``mysql_password``: MYSQL_ROOT_PASSWORD (default: a random one). An existing project's secrets are
    kept, so that writing it again never changes a password the database already has.
    """
    source = HERE / ("kamal1" if kamal1 else "kamal2")
    values = placeholders(fleet)
    for path in sorted(source.rglob("*")):
        if path.is_file():
            target = directory / path.relative_to(source)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(fill(path.read_text(), values))
    secrets_file = directory / (".env" if kamal1 else ".kamal/secrets")
    if not secrets_file.exists():
        secrets_file.parent.mkdir(parents=True, exist_ok=True)
        values = {
            "KAMAL_REGISTRY_PASSWORD": fleet.registry_password,
            "RAILS_MASTER_KEY": MASTER_KEY,
            "MYSQL_ROOT_PASSWORD": mysql_password or new_password(),
        }
        secrets_file.write_text("".join(f"{name}={value}\n" for name, value in values.items()))
        secrets_file.chmod(0o600)
    if not (directory / ".git").exists():
        git = ["git", "-C", str(directory), "-c", "user.name=Test Operator", "-c", "user.email=operator@example.test"]
        subprocess.run(["git", "init", "-q", str(directory)], check=True)
        (directory / ".gitignore").write_text(".env\n.kamal/secrets*\n.home/\n")
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "the Kamal tutorial's app"], check=True)
    return directory


def secret(project: Path, name: str) -> str:
    """A value from the project's .kamal/secrets (for checks; never print it)."""
    for line in (project / ".kamal" / "secrets").read_text().splitlines():
        if line.startswith(f"{name}="):
            return line.split("=", 1)[1]
    raise KeyError(f"{name} is not in {project}/.kamal/secrets")


def remove_host_directories(fleet_base: str | Path, host_name: str) -> None:
    """The accessories' directories and the dumps on a fleet host (its home), for a clean start."""
    home = Path(fleet_base) / "nodes" / host_name / "root"
    for name in (DB_SERVICE, REDIS_SERVICE, "backups"):
        shutil.rmtree(home / name, ignore_errors=True)
