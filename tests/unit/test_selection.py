"""Host selection as Kamal's -r/-h/-p (Commander::Specifics), without any host."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kamal_nb.config import load_config
from kamal_nb.ops.selection import Selection, SelectionError, fnmatch_extglob


@pytest.fixture
def config(tmp_path: Path):  # type: ignore[no-untyped-def]
    (tmp_path / "config").mkdir()
    raw = {
        "service": "app",
        "image": "app",
        "builder": {"arch": "amd64"},
        "registry": {"username": "u", "password": "p"},
        "servers": {
            "workers": ["1.1.1.3", "1.1.1.4"],
            "web": ["1.1.1.1", "1.1.1.2"],
            "db-web": ["1.1.1.2", "1.1.1.5"],
        },
        "accessories": {"mysql": {"image": "mysql", "host": "1.1.1.9"}},
    }
    (tmp_path / "config" / "deploy.yml").write_text(yaml.safe_dump(raw))
    return load_config("config/deploy.yml", root=tmp_path, version="v1", env={})


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("web", "web", True),
        ("w*", "web", True),
        ("*web", "db-web", True),
        ("we?", "web", True),
        ("{web,workers}", "workers", True),
        ("1.1.1.[12]", "1.1.1.2", True),
        ("1.1.1.[!12]", "1.1.1.2", False),
        ("web", "web2", False),
        ("1.1.1.*", "1.1.1.10", True),
        ("1.1.1.1", "1.1.1.10", False),
    ],
)
def test_fnmatch_with_braces(pattern: str, name: str, matches: bool) -> None:
    assert fnmatch_extglob(pattern, name) is matches


def test_no_filters_selects_everything_primary_role_first(config) -> None:  # type: ignore[no-untyped-def]
    selection = Selection.from_filters(config)
    assert selection.primary_host == "1.1.1.1"
    assert selection.primary_role is not None and selection.primary_role.name == "web"
    assert selection.roles[0].name == "web"
    # roles in name order (db-web, web, workers), then the primary role's hosts first, stably
    assert selection.hosts == ("1.1.1.2", "1.1.1.1", "1.1.1.5", "1.1.1.3", "1.1.1.4", "1.1.1.9")
    assert "1.1.1.9" in selection.hosts and "1.1.1.9" not in selection.app_hosts
    assert selection.accessory_hosts == ("1.1.1.9",)


def test_role_filter_limits_hosts_and_picks_its_primary(config) -> None:  # type: ignore[no-untyped-def]
    selection = Selection.from_filters(config, roles=["work*"])
    assert selection.hosts == ("1.1.1.3", "1.1.1.4")
    assert selection.primary_host == "1.1.1.3"
    assert [r.name for r in selection.roles] == ["workers"]
    assert Selection.from_filters(config, roles=["work*"], primary=True).hosts == ("1.1.1.3",)


def test_host_filter_keeps_roles_with_a_selected_host(config) -> None:  # type: ignore[no-untyped-def]
    selection = Selection.from_filters(config, hosts=["1.1.1.2"])
    assert selection.hosts == ("1.1.1.2",)
    assert {r.name for r in selection.roles_on("1.1.1.2")} == {"web", "db-web"}
    assert selection.primary_host == "1.1.1.2"


def test_filters_that_match_nothing_are_errors(config) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(SelectionError, match="No --roles match for api,jobs"):
        Selection.from_filters(config, roles=["api", "jobs"])
    with pytest.raises(SelectionError, match=r"No --hosts match for 2\.2\.2\.2"):
        Selection.from_filters(config, hosts=["2.2.2.2"])
