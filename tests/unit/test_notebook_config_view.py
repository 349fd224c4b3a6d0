"""`%kamal config`: the fleet a deploy.yml describes, as a table, and Kamal's YAML; secrets stay hidden."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from IPython.core.interactiveshell import InteractiveShell

from kamal_nb.notebook.config_view import ConfigView


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "config").mkdir()
    (tmp_path / ".kamal").mkdir()
    raw = {
        "service": "shop",
        "image": "acme/shop",
        "servers": {"web": ["10.9.0.1", {"10.9.0.2": ["eu"]}], "jobs": {"hosts": ["10.9.0.3"], "cmd": "bin/jobs"}},
        "registry": {"server": "registry.example.test", "username": "deployer", "password": ["REGISTRY_PASSWORD"]},
        "env": {"secret": ["DB_PASSWORD"]},
        "builder": {"arch": "amd64"},
        "proxy": {"app_port": 3000},
        "accessories": {"db": {"image": "registry.example.test/db:1", "host": "10.9.0.4"}},
    }
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(raw))
    (tmp_path / ".kamal" / "secrets").write_text("REGISTRY_PASSWORD=pw-9f8e7d6c\nDB_PASSWORD=db-1a2b3c4d\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_config_magic_shows_the_fleet_without_contacting_it(project: Path) -> None:
    shell: Any = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "kamal_nb")
    try:
        view = shell.run_line_magic("kamal", "config --version v3")
    finally:
        shell.run_line_magic("unload_ext", "kamal_nb")
    assert isinstance(view, ConfigView)
    table = view.df
    assert list(zip(table["host"], table["runs"], strict=True)) == [
        ("10.9.0.3", "role jobs"),
        ("10.9.0.1", "role web"),
        ("10.9.0.2", "role web"),
        ("10.9.0.4", "accessory db"),
    ]
    assert list(table["primary"]) == [False, True, False, False]
    assert list(table["tags"]) == ["", "", "eu", ""]
    assert list(table["container"])[:2] == ["shop-jobs-v3", "shop-web-v3"]
    assert str(table["primary"].dtype) == "boolean"
    assert view.summary().startswith("shop: image registry.example.test/acme/shop, 2 roles, 1 accessories on 4 hosts")
    bundle = view._repr_mimebundle_()
    for text in (bundle["text/plain"], bundle["text/html"], table.to_string()):
        assert "pw-9f8e7d6c" not in text and "db-1a2b3c4d" not in text
    assert ":absolute_image: registry.example.test/acme/shop:v3" in bundle["text/plain"]
