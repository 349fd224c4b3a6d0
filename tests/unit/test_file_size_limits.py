"""A deploy.yml or secrets file far larger than any real one is refused before it is read or parsed,
in one line naming the file, its size and the limit (a 200 MB deploy.yml used to be refused as an
"alias bomb?" after 9.7 s and 705 MB of memory)."""

from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest
import yaml

from kamal_nb.cli import main
from kamal_nb.config import ConfigError, load_config
from kamal_nb.ruby.file_size import CONFIG_FILE_LIMIT, SECRETS_FILE_LIMIT

CONFIG = {
    "service": "demo",
    "image": "demo",
    "servers": ["127.0.0.9"],
    "registry": {"server": "127.0.0.1:5999", "username": "u", "password": ["KAMAL_REGISTRY_PASSWORD"]},
    "builder": {"arch": "amd64"},
}


def project(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal").mkdir()
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(CONFIG))
    (tmp_path / ".kamal" / "secrets").write_text("KAMAL_REGISTRY_PASSWORD=pw\n")
    return tmp_path


def grow(file: Path, size: int) -> None:
    """The file made `size` bytes long (sparse: no disk is spent), its start still valid text."""
    with file.open("r+b") as handle:
        handle.truncate(size)


def test_a_200_mb_deploy_yml_is_refused_at_once_naming_file_size_and_limit(tmp_path: Path) -> None:
    root = project(tmp_path)
    grow(root / "config" / "deploy.yml", 200 * 1024 * 1024)
    started = time.monotonic()
    with pytest.raises(ConfigError) as refused:
        load_config(root=root, env={})
    assert time.monotonic() - started < 1.0
    message = str(refused.value)
    assert message == (
        f"{root / 'config' / 'deploy.yml'}: the configuration file is 200.0 MiB, over kamal_nb's limit of "
        "8.0 MiB for it; not read (is this the right file?)"
    )


def test_a_destination_file_and_the_limit_itself(tmp_path: Path) -> None:
    root = project(tmp_path)
    destination = root / "config" / "deploy.staging.yml"
    destination.write_text("env:\n  clear:\n    STAGE: staging\n")
    grow(destination, CONFIG_FILE_LIMIT)  # at the limit: read (a YAML of spaces, nothing more)
    with destination.open("r+b") as handle:  # the NULs of a sparse file are no YAML: spaces instead
        handle.seek(len(b"env:\n  clear:\n    STAGE: staging\n"))
        handle.write(b" " * (CONFIG_FILE_LIMIT - handle.tell()))
    assert load_config(root=root, env={}, destination="staging").env.clear["STAGE"] == "staging"
    grow(destination, CONFIG_FILE_LIMIT + 1)
    with pytest.raises(ConfigError, match=r"deploy\.staging\.yml: the configuration file is 8\.0 MiB"):
        load_config(root=root, env={}, destination="staging")


def test_a_huge_secrets_file_is_refused_in_one_line_naming_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = project(tmp_path)
    grow(root / ".kamal" / "secrets", SECRETS_FILE_LIMIT + 1024 * 1024)
    config = load_config(root=root, env={})
    with pytest.raises(ConfigError) as refused:
        config.secrets["KAMAL_REGISTRY_PASSWORD"]
    assert str(refused.value) == (
        ".kamal/secrets: the secrets file is 3.0 MiB, over kamal_nb's limit of 2.0 MiB for it; "
        "not read (is this the right file?)"
    )
    # as a person sees it: one line, no traceback, nothing contacted (the hosts are loopback anyway)
    monkeypatch.chdir(root)
    out, err = io.StringIO(), io.StringIO()
    assert main(["secrets", "print"], out=out, err=err) == 1
    shown = out.getvalue() + err.getvalue()
    assert "the secrets file is 3.0 MiB, over kamal_nb's limit of 2.0 MiB" in shown, shown
    assert "Traceback" not in shown
    os.truncate(root / ".kamal" / "secrets", 0)
